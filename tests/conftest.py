"""Fixtures shared by every test package.

- ``db_url``: an empty database, once on SQLite (a temporary file) and once on
  PostgreSQL when ``HOPCHAIN_TEST_PG_URL`` is set (an empty schema of its own,
  dropped afterwards); skipped otherwise.
- ``engine``: a database at the latest schema, reached by running every migration
  once per test session (per xdist worker): SQLite copies a migrated file, PostgreSQL
  empties one migrated database before each test (``_PgDatabases``).
- ``app`` / ``client``: the Flask app on that database, and its test client.
- ``words_app``: one app per module for tests that only read words in a request
  context or the app's routes and views (no database of their own, no PostgreSQL
  variant).
- ``make_party(code)``: a party row (idempotent), returning its id.
- ``make_user(username, role, party=None)``: a user whose password is
  ``user_password``; returns its id.
- ``login_as(role, party=None, username=None, on=None)``: signs ``client`` (or
  the client ``on``) in through the real login form as a new user with that
  role (and party code), returns that client. Finance and admin users get a
  TOTP second factor first and complete the code step (pyotp), as in production.
- ``user_totp(username)``: the ``pyotp.TOTP`` of a user ``login_as`` gave a second factor.
- ``bearer(role, party=None, label="test", user=None)``: headers carrying a new
  API token that belongs to the user ``user`` (made with that role and party on
  first use); without ``user``, to a new user (``LABEL-ROLE-N``) per call, so two
  calls act as two different people, like two ``login_as`` calls.
- ``csrf_token(path, on=None)``: the CSRF token of the form on ``path``.
- ``run_cli(*args, input=None)``: ``hopchain ARGS`` on the test database.
- ``cli_world(*commands)``: the test's database and instance folder as those
  ``hopchain`` commands leave them (``cli_world(("init",), ("demo", ...), ("detect",))``),
  and what each printed; built once per session and engine, copied into each test
  that asks (``tests/_worlds.py``).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

# pytest puts tests/ on sys.path (this conftest has no package), where tests/web,
# tests/ledger, ... would shadow the real packages as namespace packages; the
# repository root must come first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argon2
import pyotp
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, MetaData, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from ledger.database import make_engine
from ledger.models import Party
from tests import _route_builders
from tests._worlds import Ran, WorldStore, session_root
from web import accounts, create_app
from web.account import totp
from web.cli import CliState, build_cli
from web.db import get_engine, init_database
from web.models import User

# A fresh clone has no .hypothesis/ cache: the first text strategy then spends over a
# second building Hypothesis's Unicode table, which the "too slow" health check would
# blame on whichever test happens to run first. Speed is not what these tests check.
settings.register_profile("hopchain", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hopchain")

# Apps made by the fixtures share Werkzeug's compiled URL builders (see the module).
_route_builders.install()

PG_ENV = "HOPCHAIN_TEST_PG_URL"
TEST_PASSWORD = "correct horse battery staple"

_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_names = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2's cheapest parameters: signing in costs milliseconds instead of ~0.2 s."""
    accounts.use_password_hasher(PasswordHasher.from_parameters(argon2.profiles.CHEAPEST))
    yield
    accounts.use_password_hasher(PasswordHasher())


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """The pages' .mo catalogues, compiled from the .po files when missing or older
    (``make translations`` does the same; a bare ``pytest`` must not need it)."""
    from web.i18n import compile_catalogues

    compile_catalogues()


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session; tests start from a copy (fast)."""
    path = tmp_path_factory.mktemp("template") / "hopchain.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        init_database(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


def _pg_base_url() -> str:
    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(
            f"{PG_ENV} is not set: set it to a PostgreSQL URL such as "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test to run the PostgreSQL variant"
        )
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


class _PgDatabases:
    """The PostgreSQL side of one test session (one per xdist worker).

    A test that uses ``engine`` gets this session's own database ``hc_w_<hex>``,
    migrated once by running every migration, and emptied before each test: the
    rows every test left are deleted, the sequences set back and any session still
    connected to it ended, in one round trip: 44 ms on the 2-core machine at load 7,
    where building the schema per test from the models and dropping it took 4.3 s
    (0.4 s unloaded), and a ``CREATE DATABASE ... TEMPLATE`` copy with its ``DROP
    DATABASE`` (a checkpoint each) 5.2 s. A test that
    changed the schema (dropped a table, say) is noticed by a fingerprint of the
    catalogue and the database is built again. Partitions of ``entries`` that the
    test's appends created ahead of need (``ledger.partitions.ensure_partitions``:
    the first append to an empty ledger makes one) are not such a change: they are
    dropped with the rows, where building the database again took 7-12 s after every
    test that appended. A test that only asks for
    ``db_url`` gets an empty schema of its own (``search_path``), dropped after it.

    Commits in these databases do not wait for the write-ahead log to reach the disk
    (``synchronous_commit = off``, PostgreSQL documentation, "Asynchronous Commit"):
    what each session sees is unchanged, only a server crash could lose the last
    commits, which no test needs to survive. SQLite's tests run the same way (WAL with
    ``synchronous=NORMAL``, ``ledger.database``). On the 2-core machine a commit then
    took 0.2 ms instead of 5 ms (an fsync each).
    """

    _PARTITIONS = """
        SELECT quote_ident(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass('entries') ORDER BY c.relname
    """

    # One round trip before each test: sessions a test left open (an engine never
    # disposed, a child process) would hold locks and see the next test's rows, so
    # they are ended; and the partitions of ``entries`` as they are now.
    _END_SESSIONS_AND_PARTITIONS = f"""
        SELECT (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()),
               ARRAY({_PARTITIONS})
    """

    _FINGERPRINT = """
        SELECT md5(coalesce(string_agg(
            c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '')
            || ':' || coalesce(a.atttypid::text, '') || ':' || coalesce(a.attnotnull::text, ''),
            ',' ORDER BY c.relname, a.attnum), '')
            || (SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '')
                FROM alembic_version))
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = current_schema()
    """

    def __init__(self, base: str) -> None:
        self.base = make_url(base)
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with self.admin.connect() as conn:
            version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
        self._force = " WITH (FORCE)" if version >= 130000 else ""
        self._name: str | None = None
        self._keeper: Engine | None = None
        self._reset = ""
        self._fingerprint = ""
        self._partitions: set[str] = set()

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(sql))

    def _build(self) -> None:
        """A new migrated database, and the statement that empties it again."""
        self._drop()
        name = f"hc_w_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        self._name = name
        self._execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        url = self.base.set(database=name).render_as_string(hide_password=False)
        migrated = make_engine(url)
        try:
            init_database(migrated)
        finally:
            migrated.dispose()
        # One connection kept between tests (connecting took 10-15 ms a test at load 8).
        self._keeper = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        with self._keeper.connect() as conn:
            tables = MetaData()
            tables.reflect(conn)
            filled = [
                t.name
                for t in tables.sorted_tables
                if t.name != "alembic_version"
                and conn.execute(select(func.count()).select_from(t)).scalar_one()
            ]
            # Migrations that add rows would need them put back after every test.
            assert not filled, f"migrations left rows in {filled}: teach conftest to keep them"
            sequences = (
                conn.execute(
                    text(
                        "SELECT quote_ident(sequencename) FROM pg_sequences "
                        "WHERE schemaname = current_schema()"
                    )
                )
                .scalars()
                .all()
            )
            self._fingerprint = conn.execute(text(self._FINGERPRINT)).scalar_one()
            self._partitions = set(conn.execute(text(self._PARTITIONS)).scalars())
        deletes = [
            f'DELETE FROM "{t.name}"'
            for t in reversed(tables.sorted_tables)
            if t.name != "alembic_version"
        ]
        restarts = [f"SELECT setval('{seq}', 1, false)" for seq in sequences]
        self._reset = ";\n".join(["SET LOCAL lock_timeout = '30s'", *deletes, *restarts])

    def migrated_url(self) -> str:
        """The URL of the migrated database, emptied for a new test."""
        if self._keeper is None:
            self._build()
        assert self._keeper is not None and self._name is not None
        with self._keeper.begin() as conn:
            _, partitions = conn.execute(text(self._END_SESSIONS_AND_PARTITIONS)).one()
            try:
                added = set(partitions) - self._partitions
                if added:
                    conn.execute(text("SET LOCAL lock_timeout = '30s'"))
                    conn.exec_driver_sql(";\n".join(f"DROP TABLE {p}" for p in sorted(added)))
                changed = conn.execute(text(self._FINGERPRINT)).scalar_one() != self._fingerprint
            except DBAPIError:  # alembic_version itself was dropped
                changed = True
            if not changed:
                conn.exec_driver_sql(self._reset)
        if changed:
            self._build()
        return self.base.set(database=self._name).render_as_string(hide_password=False)

    def empty_url(self) -> Iterator[str]:
        """An empty schema of its own (selected through ``search_path``), dropped after."""
        schema = f"hc_test_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        try:
            # the schema's connections commit as the databases' do (set on the database)
            options = f"-csearch_path={schema} -csynchronous_commit=off"
            url = self.base.update_query_dict({"options": options})
            yield url.render_as_string(hide_password=False)
        finally:
            self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def _drop(self) -> None:
        if self._keeper is not None:
            self._keeper.dispose()
            self._keeper = None
        if self._name is not None:
            if not self._force:  # before PostgreSQL 13: end the last sessions first
                self._execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{self._name}' AND pid <> pg_backend_pid()"
                )
            self._execute(f'DROP DATABASE IF EXISTS "{self._name}"{self._force}')
            self._name = None

    def close(self) -> None:
        self._drop()
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[_PgDatabases]:
    databases = _PgDatabases(_pg_base_url())
    yield databases
    databases.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked ``slow_on_postgres`` is slow in its PostgreSQL variant only:
    ``make test`` runs it on SQLite, CI and ``make test-all`` on both engines."""
    for item in items:
        if item.get_closest_marker("slow_on_postgres") and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database for this test alone: empty, unless the test uses ``engine``
    (then on PostgreSQL it is already migrated, see ``_PgDatabases``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hopchain.db'}"
        return
    databases: _PgDatabases = request.getfixturevalue("_pg_databases")
    if "engine" in request.fixturenames:
        yield databases.migrated_url()
    else:
        yield from databases.empty_url()


@pytest.fixture
def engine(db_url: str, _migrated_sqlite_template: Path) -> Iterator[Engine]:
    """The test's database at the latest schema, reached by running every migration
    once per test session (SQLite: copied from a template file; PostgreSQL: see
    ``_PgDatabases``)."""
    parsed = make_url(db_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        shutil.copyfile(_migrated_sqlite_template, parsed.database)
    engine = make_engine(db_url)
    if parsed.query.get("options"):  # engine was asked for late: an empty schema
        init_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(db_url: str) -> Iterator[Engine]:
    """The test's empty database brought to the latest schema by running every
    migration on it: for the tests of the migrations themselves."""
    engine = make_engine(db_url)
    init_database(engine)
    yield engine
    engine.dispose()


def _test_config(db_url: str, instance: Path) -> dict[str, object]:
    """The configuration of every app and command the fixtures make."""
    return {
        "TESTING": True,
        "DATABASE_URL": db_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "test-only-secret",
        "SECURE_COOKIES": False,  # the test client speaks plain HTTP
    }


def _made_app(db_url: str, instance: Path) -> Iterator[Flask]:
    app = create_app(_test_config(db_url, instance))
    yield app
    with app.app_context():
        get_engine().dispose()


@pytest.fixture
def app(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _made_app(db_url, tmp_path / "instance")


@pytest.fixture(scope="module")
def words_app(
    _migrated_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The app for tests that only read words in a request context
    (``words_app.test_request_context("/", headers={"Accept-Language": "zh-CN"})``):
    one per module, on a copy of the migrated SQLite file. Such words read no
    database, so these tests need neither a database each nor a PostgreSQL variant
    (``app`` costs both: 1,590 tests of tests/web/test_reasons_ids.py were two per
    reason). Tests that only read the route table and the views' declared roles use
    it too. A test that signs in or reads rows uses ``app``."""
    folder = tmp_path_factory.mktemp("words")
    shutil.copyfile(_migrated_sqlite_template, folder / "hopchain.db")
    yield from _made_app(f"sqlite:///{folder / 'hopchain.db'}", folder / "instance")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_party(engine: Engine) -> Callable[..., int]:
    def make(code: str, kind: str = "distributor", name: str | None = None) -> int:
        with Session(engine) as session:
            existing = session.scalar(select(Party.id).where(Party.code == code))
            if existing is not None:
                return existing
            party = Party(code=code, name=name or f"{code} Ltd", kind=kind)
            session.add(party)
            session.commit()
            return party.id

    return make


@pytest.fixture
def csrf_token(client: FlaskClient) -> Callable[..., str]:
    def token(path: str = "/login", on: FlaskClient | None = None) -> str:
        page = (on or client).get(path)
        match = _CSRF_INPUT.search(page.get_data(as_text=True))
        assert match, f"no CSRF token in the form of {path} (status {page.status_code})"
        return match.group(1)

    return token


@pytest.fixture
def user_password() -> str:
    """The password of every user made by ``make_user`` and ``login_as``."""
    return TEST_PASSWORD


@pytest.fixture
def make_user(engine: Engine, make_party: Callable[..., int]) -> Callable[..., int]:
    def make(username: str, role: str, party: str | None = None) -> int:
        if role == "inspector":
            # an inspector belongs to an inspection party (web.accounts.PARTY_ROLES)
            party = party or "INSP-TEST"
            make_party(party, kind="inspector")
        elif party is not None:
            make_party(party)
        with Session(engine) as session:
            return accounts.create_user(session, username, TEST_PASSWORD, role, party=party)

    return make


@pytest.fixture
def _totp_secrets() -> dict[str, str]:
    """Username -> TOTP secret of the users ``login_as`` gave a second factor."""
    return {}


@pytest.fixture
def user_totp(_totp_secrets: dict[str, str]) -> Callable[[str], pyotp.TOTP]:
    """``user_totp(username)``: the authenticator app of a user ``login_as`` enrolled."""

    def of(username: str) -> pyotp.TOTP:
        return pyotp.TOTP(_totp_secrets[username])

    return of


@pytest.fixture
def login_as(
    client: FlaskClient,
    engine: Engine,
    make_user: Callable[..., int],
    csrf_token: Callable[..., str],
    _totp_secrets: dict[str, str],
) -> Callable[..., FlaskClient]:
    def login(
        role: str,
        party: str | None = None,
        username: str | None = None,
        on: FlaskClient | None = None,
    ) -> FlaskClient:
        browser = on or client
        username = username or f"{role}-{next(_names)}"
        user_id = make_user(username, role, party)
        authenticator: pyotp.TOTP | None = None
        if totp.required_for(role):
            # Set up as the two-factor page would, with a code of the previous time
            # step, so the code typed at sign-in below is a later, unused one.
            secret = pyotp.random_base32()
            authenticator = pyotp.TOTP(secret)
            now = time.time()
            with Session(engine) as session:
                earlier = authenticator.at(now - totp.STEP_SECONDS)
                assert totp.enroll(session, user_id, secret, earlier, now_s=now)
            _totp_secrets[username] = secret
        response = browser.post(
            "/login",
            data={
                "username": username,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_token("/login", on=browser),
            },
        )
        assert response.status_code == 302, f"login as {username} failed: {response.status}"
        if authenticator is not None:
            assert response.headers["Location"].endswith("/login/code"), response.headers
            response = browser.post(
                "/login/code",
                data={
                    "code": authenticator.now(),
                    "csrf_token": csrf_token("/login/code", on=browser),
                },
            )
            assert response.status_code == 302, f"code for {username} failed: {response.status}"
        return browser

    return login


@pytest.fixture
def bearer(engine: Engine, make_party: Callable[..., int]) -> Callable[..., dict[str, str]]:
    def headers(
        role: str, party: str | None = None, label: str = "test", user: str | None = None
    ) -> dict[str, str]:
        if role == "inspector":
            # an inspector belongs to an inspection party (web.accounts.PARTY_ROLES)
            party = party or "INSP-TEST"
            make_party(party, kind="inspector")
        elif party is not None:
            make_party(party)
        username = user or re.sub(r"\s+", "-", f"{label}-{role}-{next(_names)}")
        with Session(engine) as session:
            exists = session.scalar(select(User.id).where(User.username == username))
            if exists is None:
                accounts.create_user(session, username, TEST_PASSWORD, role, party=party)
            token = accounts.create_token(session, role, party=party, label=label, user=username)
        return {"Authorization": f"Bearer {token.secret}"}

    return headers


@pytest.fixture
def run_cli(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Callable[..., Result]]:
    """``run_cli("token", "create", "--role", "admin")``: invoke ``hopchain`` on the test database.

    Returns click's ``Result`` (``exit_code``, ``output``); exceptions are raised, not hidden.
    """
    states: list[CliState] = []

    def run(*args: str, input: str | None = None) -> Result:
        state = CliState(test_config=_test_config(db_url, tmp_path / "instance"))
        states.append(state)
        return CliRunner().invoke(
            build_cli(), list(args), obj=state, input=input, catch_exceptions=False
        )

    yield run
    for state in states:
        if state._app is not None:
            with state._app.app_context():
                get_engine().dispose()


@pytest.fixture(scope="session")
def _world_store(tmp_path_factory: pytest.TempPathFactory) -> WorldStore:
    return WorldStore(session_root(tmp_path_factory.getbasetemp()))


@pytest.fixture
def cli_world(
    engine: Engine, run_cli: Callable[..., Result], tmp_path: Path, _world_store: WorldStore
) -> Callable[..., list[Ran]]:
    """``cli_world(("init",), ("demo", "--units", "200", ...), ("detect",))``: this
    test's database and instance folder as those ``hopchain`` commands leave them, and
    each command's ``exit_code`` and ``output`` (a list, in order).

    The first test of the session (any xdist worker) asking for the same commands on
    the same engine runs them through ``run_cli``; later ones get a copy of its rows
    and instance files (``tests/_worlds.py``): seconds saved per test, and still a
    database of their own. Raises ValueError for no command or an empty one.
    """

    def world(*commands: tuple[str, ...]) -> list[Ran]:
        return _world_store.world(engine, tmp_path / "instance", commands, run_cli)

    return world
