"""The ``hopchain`` command line.

Topic groups live in ``web/cli_<topic>.py``; each exposes ``COMMANDS``, a tuple
of click commands or groups, and is listed in :data:`CLI_MODULES`. A command
that needs the app (database, config) uses :func:`in_app_context`; the app is
built once per invocation from the environment (``HOPCHAIN_INSTANCE``,
``HOPCHAIN_DATABASE_URL``), or from ``CliState(test_config=...)`` in tests::

    @click.command("verify")
    @in_app_context
    def verify() -> None:
        engine = get_engine()
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from web.roles import Role

if TYPE_CHECKING:
    from flask import Flask

# Commands import the app, the database layer and the packages they use inside
# their functions: `hopchain --help` and `hopchain scan parse` then start without
# Flask apps, SQLAlchemy, numba or matplotlib (benchmarks/compare_cli_startup.py).

__all__ = ["CLI_MODULES", "CliState", "build_cli", "in_app_context", "main"]

P = ParamSpec("P")
R = TypeVar("R")

# web.cli_<topic> modules, each exposing COMMANDS.
CLI_MODULES: tuple[str, ...] = (
    "ledger",
    "demo",
    "scan",
    "territories",
    "settlement",
    "import",
    "parties",
    "money",
    "mail",
    "recruitment",
    "agreements",
    "exits",
    "evaluation",
    "credit",
    "credit_watch",
    "credit_files",
    "credit_accuracy",
    "credit_assess",
    "credit_items",
    "evidence",
    "products",
    "partitions",
)

_ROLE_CHOICE = click.Choice([r.value for r in Role])


@dataclass
class CliState:
    """Per-invocation state: the app, built on first use."""

    test_config: Mapping[str, Any] | None = None
    _app: Flask | None = field(default=None, repr=False)
    _instance_checked: bool = field(default=False, repr=False)

    @property
    def app(self) -> Flask:
        if self._app is None:
            from web import create_app

            self._app = create_app(self.test_config)
        return self._app

    def require_instance(self) -> None:
        """Refuse, in one line (``click.ClickException``, exit 1), to run without an instance.

        The instance folder is ``INSTANCE_PATH`` / ``HOPCHAIN_INSTANCE`` /
        ``./instance`` as in :func:`web.create_app`. Refused: no database URL set
        and no ``hopchain.db`` in that folder (nothing is created then); a
        database that cannot be opened; a database without the migrations'
        ``alembic_version`` row (never migrated).
        """
        if self._instance_checked:
            return
        config = dict(self.test_config or {})
        instance = Path(
            config.get("INSTANCE_PATH") or os.environ.get("HOPCHAIN_INSTANCE") or "instance"
        ).resolve()
        explicit_url = config.get("DATABASE_URL") or os.environ.get("HOPCHAIN_DATABASE_URL")
        if not explicit_url and not (instance / _SQLITE_FILE).is_file():
            raise click.ClickException(
                f"no hopchain instance at {instance}: run `hopchain init` (or set HOPCHAIN_INSTANCE)"
            )
        from sqlalchemy import exc, inspect, text

        from web.db import get_engine

        with self.app.app_context():
            engine = get_engine()
            shown = engine.url.render_as_string(hide_password=True)
            try:
                with engine.connect() as conn:
                    migrated = (
                        inspect(conn).has_table("alembic_version")
                        and conn.execute(text("SELECT version_num FROM alembic_version")).first()
                        is not None
                    )
            except exc.DBAPIError:
                raise click.ClickException(
                    f"cannot open the database {shown}: check HOPCHAIN_DATABASE_URL"
                    " and that its server is running"
                ) from None
        if not migrated:
            raise click.ClickException(
                f"the database {shown} has no hopchain tables yet: run `hopchain init`"
                " (or `hopchain db upgrade`)"
            )
        self._instance_checked = True


_SQLITE_FILE = "hopchain.db"  # web.create_app's default database in the instance folder

pass_state = click.make_pass_decorator(CliState, ensure=True)


def in_app_context(command: Callable[P, R]) -> Callable[P, R]:
    """Run the command inside the app context (``get_engine()``, ``get_session()`` work).

    Outside an instance (no database, or one never migrated) the command does not
    run: one line says how to make one (:meth:`CliState.require_instance`). A
    missing signing key ends the same way (``ledger.CheckpointError``'s words).
    """
    return _app_context(command, existing_instance=True)


def _app_context(command: Callable[P, R], *, existing_instance: bool) -> Callable[P, R]:
    """:func:`in_app_context`; ``existing_instance=False`` for the commands that make one."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from ledger import CheckpointError

        state = click.get_current_context().ensure_object(CliState)
        if existing_instance:
            state.require_instance()
        with state.app.app_context():
            try:
                return command(*args, **kwargs)
            except CheckpointError as exc:  # "no signing key at ...: run `hopchain init` first"
                raise click.ClickException(str(exc)) from None

    return run


@click.command("init")
@partial(_app_context, existing_instance=False)
def init_command() -> None:
    """Create the instance folder, migrate the database and create the signing key.

    Safe to run again: it only adds what is missing.
    """
    from flask import current_app

    from web import accounts
    from web.db import get_engine, get_session, init_database

    instance = Path(current_app.instance_path)
    init_database(get_engine())
    click.echo(f"instance: {instance}")
    click.echo(f"database: {get_engine().url.render_as_string(hide_password=True)} (migrated)")
    ensure_signing_key = _optional("ledger.keys", "ensure_signing_key")
    if ensure_signing_key is not None:
        ensure_signing_key(instance)
        click.echo("signing key: ready")
    if not accounts.list_users(get_session()):
        click.echo("no users yet: hopchain user create NAME --role admin")


def _optional(module_name: str, attr: str) -> Callable[..., Any] | None:
    """``module.attr`` when the module exists (other packages land in their own time)."""
    if importlib.util.find_spec(module_name) is None:
        return None
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return function


#: Where ``hopchain serve`` listens unless told otherwise; e-mail links point there by
#: default (:data:`web.outbox.DEFAULT_BASE_URL`).
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 8000


@click.command("serve")
@click.option("--host", default=SERVE_HOST, show_default=True)
@click.option("--port", default=SERVE_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@pass_state
def serve_command(state: CliState, host: str, port: int, threads: int) -> None:
    """Serve the web app and API with waitress (a production WSGI server)."""
    import logging

    import waitress  # type: ignore[import-untyped]

    from web.checkpointer import start_checkpointer

    # Operators read the serving process's stderr: waitress, checkpoints, 500s.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    if _is_loopback(host) and os.environ.get("HOPCHAIN_SECURE_COOKIES") is None:
        # Development on this machine over plain HTTP: browsers would drop Secure cookies.
        state.test_config = {**(state.test_config or {}), "SECURE_COOKIES": False}
    state.require_instance()
    start_checkpointer(state.app)
    if state.app.config["SECURE_COOKIES"]:
        click.echo("cookies are Secure (HTTPS only) with HSTS: serve behind a TLS proxy")
    else:
        click.echo(
            "development: cookies without Secure, no HSTS (HOPCHAIN_SECURE_COOKIES=1 to change)"
        )
    click.echo(f"hopchain on http://{host}:{port}/ (Ctrl-C to stop)")
    waitress.serve(state.app, host=host, port=port, threads=threads, ident="hopchain")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.group("token")
def token_group() -> None:
    """API tokens for programs (``Authorization: Bearer TOKEN``)."""


@token_group.command("create")
@click.option("--role", required=True, type=_ROLE_CHOICE)
@click.option("--party", default=None, help="Code of the party the token acts for.")
@click.option(
    "--user",
    "username",
    default=None,
    help="Username the token acts as (its role and party must be these); "
    "default: the service user of the role and party.",
)
@click.option("--label", default="", help="What the token is for, shown in listings (a note only).")
@in_app_context
def token_create(role: str, party: str | None, username: str | None, label: str) -> None:
    """Create a token and print it alone on the last line (it is shown only this once).

    The token acts as a user: ``--user NAME``, or else the service user of that
    role and party (created once; it cannot sign in to the pages).
    """
    from web import accounts
    from web.db import get_session

    try:
        token = accounts.create_token(
            get_session(),
            role,
            party=party,
            label=label,
            user=username,
            actor=accounts.CLI_ACTOR,
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    scope = f" for party {token.party_code}" if token.party_code else ""
    click.echo(
        f"token {token.id}: role {token.role.value}{scope}, acts as user {token.username};"
        " store it now, only its hash is kept:"
    )
    click.echo(token.secret)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@in_app_context
def token_revoke(token_id: int) -> None:
    """Refuse a token from now on."""
    from web import accounts
    from web.db import get_session

    try:
        accounts.revoke_token(get_session(), token_id, actor=accounts.CLI_ACTOR)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"token {token_id} revoked")


@token_group.command("list")
@in_app_context
def token_list() -> None:
    """Tokens, one a line: id, role, party code, user it acts as, active/revoked, label
    (tab-separated; never the token)."""
    from web import accounts
    from web.db import get_session

    for token in accounts.tokens(get_session()):
        state = "revoked" if token.revoked_ms is not None else "active"
        party = token.party_code or "-"
        user = token.username or "-"
        click.echo(
            f"{token.id}\t{token.role.value}\tparty={party}\tuser={user}\t{state}\t{token.label}"
        )


@click.group("user")
def user_group() -> None:
    """People who sign in to the web pages."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=_ROLE_CHOICE)
@click.option("--party", default=None, help="Code of the party (required for distributors).")
@click.option("--display-name", default="", help="Name shown in the pages.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@in_app_context
def user_create(
    username: str, role: str, party: str | None, display_name: str, password_stdin: bool
) -> None:
    """Create a user; the password is prompted for (or read with --password-stdin).

    The password needs at least 10 characters and must be hard to guess (the
    refusal says why); usernames starting ``service:`` are kept for service users.
    """
    from web import accounts
    from web.db import get_session

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user_id = accounts.create_user(
            get_session(),
            username,
            password,
            role,
            party=party,
            display_name=display_name,
            actor=accounts.CLI_ACTOR,
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"user {username} created (id {user_id}, role {role})")


def _user_id(username: str) -> int:
    """The id of the user called ``username``; a ClickException naming it when none is."""
    from web import accounts
    from web.db import get_session

    found = next((u for u in accounts.list_users(get_session()) if u.username == username), None)
    if found is None:
        raise click.ClickException(f"no user is called {username!r}")
    return found.id


# action → (function of web.accounts, its fixed keyword arguments, what the user is now)
_ACCOUNT_ACTIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "deactivate": (
        "set_user_active",
        {"active": False},
        "deactivated: their sessions have ended and their tokens are refused",
    ),
    "activate": ("set_user_active", {"active": True}, "reactivated"),
    "unlock": ("unlock_user", {}, "unlocked: they may sign in again"),
    "reset-two-factor": (
        "reset_two_factor",
        {},
        "has no second factor now and sets up a new one at the next sign-in",
    ),
}


def _account_command(action: str) -> click.Command:
    function_name, fixed, said = _ACCOUNT_ACTIONS[action]

    @click.argument("username")
    @in_app_context
    def command(username: str) -> None:
        from web import accounts
        from web.db import get_session

        change: Callable[..., None] = getattr(accounts, function_name)
        try:
            change(get_session(), _user_id(username), **fixed, actor=accounts.CLI_ACTOR)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"user {username} {said}")

    command.__doc__ = (
        f"{action.replace('-', ' ').capitalize()} a user (audited as done by the command line)."
    )
    return click.command(action)(command)


for _action in _ACCOUNT_ACTIONS:
    user_group.add_command(_account_command(_action))


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations in web/migrations)."""


@db_group.command("upgrade")
@partial(_app_context, existing_instance=False)
def db_upgrade() -> None:
    """Migrate the database to the latest schema (``init`` does this too)."""
    from web.db import get_engine, init_database

    init_database(get_engine())
    click.echo("database at the latest schema")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable).")
@click.option(
    "--module",
    "modules",
    multiple=True,
    help="Only the tables mapped in this module, e.g. geo.models (repeatable).",
)
def db_revision(message: str, tables: tuple[str, ...], modules: tuple[str, ...]) -> None:
    """Autogenerate a migration from the models (needs no instance or server).

    In a working tree shared with others, name your tables or module so their
    unfinished models do not end up in your migration.
    """
    from web.db import heads, make_revision, tables_of_module

    if len(heads()) > 1:
        raise click.ClickException(
            "the migrations have several heads; run `hopchain db merge` first"
        )
    selected: set[str] | None = None
    if tables or modules:
        selected = set(tables)
        for module_name in modules:
            try:
                selected |= tables_of_module(module_name)
            except (ImportError, ValueError) as exc:
                raise click.ClickException(str(exc)) from None
    paths = make_revision(message, selected)
    if not paths:
        click.echo("the migrations already match the models; nothing written")
    for path in paths:
        click.echo(f"wrote {path}: read it before committing")


@db_group.command("merge")
@click.option("-m", "--message", default="merge heads", show_default=True)
def db_merge(message: str) -> None:
    """Join parallel migration branches (two people added tables the same day)."""
    from alembic import command

    from web.db import alembic_config, heads

    if len(heads()) < 2:
        click.echo("one head; nothing to merge")
        return
    command.merge(alembic_config(), "heads", message=message)


BUILTIN_COMMANDS: tuple[click.Command, ...] = (
    init_command,
    serve_command,
    token_group,
    user_group,
    db_group,
)


def build_cli() -> click.Group:
    """The ``hopchain`` group with the built-in commands and those of :data:`CLI_MODULES`."""

    @click.group("hopchain")
    @click.version_option(package_name="hopchain")
    def hopchain() -> None:
        """hopchain: serial-number ledger, diversion detection and rebate settlement."""

    for command in BUILTIN_COMMANDS:
        hopchain.add_command(command)
    for module_name in CLI_MODULES:
        module = importlib.import_module(f"web.cli_{module_name}")
        for command in module.COMMANDS:
            hopchain.add_command(command)
    return hopchain


def main() -> None:
    """Console-script entry point."""
    build_cli()(obj=CliState())
