"""Engine set-up shared by every writer, so SQLite and PostgreSQL behave alike.

SQLite runs in WAL mode (readers never block the writer) with a busy timeout,
and its Python driver's own transaction handling is switched off so that we can
issue ``BEGIN IMMEDIATE``: the ledger's sequencer takes the write lock at the
start of a batch instead of failing halfway when another process got there first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

__all__ = [
    "begin_writing",
    "bulk_insert",
    "bulk_update",
    "fetch_all",
    "is_sqlite",
    "make_engine",
    "placeholder",
    "write_transaction",
]

_IMMEDIATE = "hopchain_immediate"


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def placeholder(conn: Connection) -> str:
    """The driver's parameter marker, for the raw SQL of the hot paths."""
    return "?" if is_sqlite(conn) else "%s"


def fetch_all(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows as plain tuples straight from the driver's cursor.

    For the paths that read many small rows (verification, proofs), where
    SQLAlchemy's row objects would cost more than the work done with them.
    """
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return cast(list[tuple[Any, ...]], cursor.fetchall())
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL, foreign keys and a lock wait."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the database's write lock from its first statement.

    On SQLite that is ``BEGIN IMMEDIATE``; on PostgreSQL callers add their own
    advisory lock (see :func:`ledger.append.lock_ledger`).
    """
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(**{_IMMEDIATE: True})
        with conn.begin():
            yield conn


def begin_writing(session: Session) -> None:
    """Start ``session``'s transaction holding the write lock, where the engine needs it.

    Call it first, before the session's first statement, in a unit of work that
    reads and then writes (count a label view, record a sighting) and runs
    concurrently with others: SQLite cannot turn a read transaction whose snapshot
    is no longer the newest into a write one, and answers ``database is locked`` at
    once instead of waiting (its busy timeout does not apply); ``BEGIN IMMEDIATE``
    takes the lock up front, so concurrent writers queue for it. PostgreSQL needs
    nothing (row locks and ``ON CONFLICT`` do the work): a no-op there, as it is
    in a session whose transaction already began (too late to ask for the lock).
    """
    if not session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={_IMMEDIATE: True})


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows: ``COPY`` on PostgreSQL (several times faster than row-by-row
    statements, even pipelined), ``executemany`` on SQLite (already in-process)."""
    if not rows:
        return
    names = ", ".join(columns)
    if is_sqlite(conn):
        marks = ", ".join("?" * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))
        return
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def bulk_update(
    conn: Connection,
    table: str,
    key: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Update many rows by ``key``; each row is (*values of ``columns``, key value).

    PostgreSQL runs one statement whatever the count: the values travel as one
    array per column (``types`` are the columns' SQL types, key last) and
    ``unnest`` turns them back into rows joined on ``key`` (one round trip,
    where a scratch table took four); SQLite runs ``executemany``.
    """
    if not rows:
        return
    if is_sqlite(conn):
        sets = ", ".join(f"{c} = ?" for c in columns)
        conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE {key} = ?", list(rows))
        return
    names = [*columns, key]
    if len(types) != len(names):
        raise ValueError(f"bulk_update of {table}: {len(names)} columns but {len(types)} types")
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    sets = ", ".join(f"{c} = s.{c}" for c in columns)
    sql = (
        f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS s ({', '.join(names)})"
        f" WHERE t.{key} = s.{key}"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, [list(values) for values in zip(*rows, strict=True)])
    finally:
        cursor.close()
