"""The app's database: one engine per app, one session per request, Alembic migrations.

Tables are declared by several packages; :data:`MODEL_MODULES` names every module
that declares some, so Alembic (autogenerate, and the test that migrations match
the models) sees them all. Add a line there when a package gains a ``models``
module; modules not written yet are skipped so the app runs meanwhile.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy.orm import Session, sessionmaker

from ledger.database import make_engine

__all__ = [
    "MODEL_MODULES",
    "HopchainState",
    "alembic_config",
    "get_engine",
    "get_session",
    "heads",
    "init_app",
    "init_database",
    "make_revision",
    "schema_diff",
    "table_filter",
    "tables_of_module",
    "target_metadata",
]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# (module, attribute holding its declarative base): every module that declares tables.
# tests/web/test_web_migrations.py fails when a mapped class lives in a module not listed.
MODEL_MODULES: tuple[tuple[str, str], ...] = (
    ("ledger.models", "Base"),
    ("web.models", "Base"),
    ("scanners.devices", "Base"),
    ("scanners.serials", "Base"),
    ("scanners.epcis_events", "Base"),
    ("geo.models", "GeoBase"),
    ("settlement.models", "Base"),
    ("notify.models", "Base"),
    ("partners.models", "Base"),
    ("risk.models", "Base"),
    ("sightings.models", "Base"),
)

_EXTENSION = "hopchain"


@dataclass(frozen=True, slots=True)
class HopchainState:
    """What the app keeps in ``app.extensions["hopchain"]``."""

    engine: Engine
    sessions: sessionmaker[Session]


def init_app(app: Flask, url: str) -> HopchainState:
    """Create the engine for ``url`` and close each request's session when it ends."""
    engine = make_engine(url)
    state = HopchainState(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    app.extensions[_EXTENSION] = state
    app.teardown_appcontext(_close_session)
    return state


def _state() -> HopchainState:
    state = current_app.extensions[_EXTENSION]
    assert isinstance(state, HopchainState)
    return state


def get_engine() -> Engine:
    """The current app's engine (inside an app or request context)."""
    return _state().engine


def get_session() -> Session:
    """The session of the current request (or app context), created on first use.

    It is closed, and anything not committed rolled back, when the context ends,
    so a view that fails halfway leaves nothing behind.
    """
    session = g.get("_hopchain_session")
    if session is None:
        session = _state().sessions()
        g._hopchain_session = session
    assert isinstance(session, Session)
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("_hopchain_session", None)
    if session is not None:
        session.close()


def target_metadata() -> list[MetaData]:
    """Every metadata whose tables the migrations must create, importing their modules."""
    found: list[MetaData] = []
    for module_name, attr in MODEL_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is missing
                raise
            continue
        metadata = getattr(module, attr).metadata
        if all(metadata is not m for m in found):
            found.append(metadata)
    return found


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration without an ``alembic.ini``: migrations live in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_database(engine: Engine) -> None:
    """Bring the database to the latest schema (``alembic upgrade heads``); idempotent."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "heads")


def heads() -> tuple[str, ...]:
    """The revisions at the tip of the migration history (more than one needs a merge)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def schema_diff(engine: Engine, tables: Collection[str] | None = None) -> list[Any]:
    """Differences between the database and the models; empty when migrations are complete.

    With ``tables``, only differences touching those tables are reported. On
    PostgreSQL the partitioned layout of ``entries`` (its partitions, the table
    keeping one declaration per seq) is what the migrations build, not a difference
    (:func:`ledger.partitions.without_layout_differences`).
    """
    from ledger.partitions import without_layout_differences

    with engine.connect() as conn:
        opts: dict[str, Any] = {"compare_type": True}
        if tables is not None:
            opts["include_object"] = table_filter(tables)
        context = MigrationContext.configure(conn, opts=opts)
        metadata: Any = target_metadata()  # alembic accepts a sequence of MetaData
        diff: list[Any] = compare_metadata(context, metadata)
        conn.rollback()
    if engine.dialect.name == "postgresql":
        diff = without_layout_differences(diff)
    return diff


def table_filter(tables: Collection[str]) -> Callable[..., bool]:
    """An Alembic ``include_object`` hook keeping only ``tables`` and what belongs to them."""
    wanted = frozenset(tables)

    def include(obj: Any, name: str | None, type_: str, _reflected: bool, _other: Any) -> bool:
        if type_ == "table":
            return name in wanted
        table = getattr(obj, "table", None)
        return table is None or table.name in wanted

    return include


def tables_of_module(module_name: str) -> set[str]:
    """Names of the tables mapped by classes defined in ``module_name``."""
    module = importlib.import_module(module_name)
    found = set()
    for value in vars(module).values():
        table = getattr(value, "__table__", None)
        if isinstance(value, type) and value.__module__ == module_name and table is not None:
            found.add(table.name)
    if not found:
        raise ValueError(f"{module_name} maps no tables")
    return found


def make_revision(message: str, tables: Collection[str] | None = None) -> Sequence[str]:
    """Autogenerate a migration for whatever the models declare beyond the current head.

    It compares against a scratch SQLite database migrated to head, so no instance
    or server is needed; the generated operations are dialect-neutral. ``tables``
    limits it to those tables: in a shared working tree, other people's unfinished
    models stay out of your migration. Returns the paths of the files written
    (none when the models already match).
    """
    with tempfile.TemporaryDirectory(prefix="hopchain-revision-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/scratch.db")
        try:
            init_database(engine)
            if not schema_diff(engine, tables):
                return []
            with engine.begin() as conn:
                config = alembic_config(conn)
                if tables is not None:
                    config.attributes["include_object"] = table_filter(tables)
                result = command.revision(config, message=message, autogenerate=True)
        finally:
            engine.dispose()
    scripts = result if isinstance(result, list) else [result]
    return [script.path for script in scripts if script is not None]
