"""Entries read a chunk at a time as columns (Arrow, then polars), not as row tuples.

Verification reads every entry once; turning each row into a Python tuple of 18
objects is a large part of what that costs. :class:`ColumnReader` runs the verify
query (``ledger.verify_scan._SQL``, the same columns in the same order, named
:data:`COLUMNS`) through a driver that builds Arrow columns in native code, on its
own connection to the same database:

- SQLite: the ADBC SQLite driver (``adbc-driver-sqlite``), the SQLite library
  itself, one connection and one read transaction for the whole verification.
  (connectorx would be a little faster, but does not see what SQLite's
  write-ahead log holds until a checkpoint copies it into the database file.)
- PostgreSQL: the ADBC PostgreSQL driver (``adbc-driver-postgresql``: binary
  COPY into Arrow), one connection whose transaction imports the snapshot of the
  caller's REPEATABLE READ transaction (``pg_export_snapshot``, ``SET TRANSACTION
  SNAPSHOT``): it reads exactly what the caller's connection reads.

On SQLite its own read transaction starts after the caller's, so it may see a
longer log: the caller reads only seqs below its snapshot's end, and entries below
it never change on an intact ledger (appends add seqs above, error declarations
are new entries; a receipt is written with its scan's entries). A row rewritten
in between is a tampering the next verification names.

Not every database can be read so: an SQLite database in memory, or a driver that
is missing or refuses the URL. :func:`open_reader` then returns None and the caller
reads tuples as before; a read that fails raises :class:`ColumnsUnavailable`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl
import pyarrow as pa
from sqlalchemy import Connection

__all__ = [
    "COLUMNS",
    "COLUMNS_MIN_ENTRIES",
    "SCHEMA",
    "ColumnReader",
    "ColumnsUnavailable",
    "open_reader",
]

SCHEMA: dict[str, type[pl.DataType]] = {
    "seq": pl.Int64,
    "kind": pl.String,
    "at_ms": pl.Int64,
    "unit": pl.String,
    "party_id": pl.Int64,
    "counterparty_id": pl.Int64,
    "site_id": pl.Int64,
    "lat_e6": pl.Int64,
    "lon_e6": pl.Int64,
    "container": pl.String,
    "device": pl.String,
    "device_seq": pl.Int64,
    "anomaly": pl.String,
    "prev_hash": pl.Binary,
    "leaf_hash": pl.Binary,
    "unit_id": pl.Int64,
    "retracts_seq": pl.Int64,
    "container_id": pl.Int64,
}
"""The verify query's 18 columns (``ledger.verify_scan._SQL``, the order of a stored
row, :data:`ledger.rows.Row`) by name, with their polars dtypes; every one nullable."""

COLUMNS: tuple[str, ...] = tuple(SCHEMA)


COLUMNS_MIN_ENTRIES = 100_000
"""Entries from which reading columns pays (verify's ``columns=None``): below it the
row tuples are quicker, as loading the compiled encoder (numba) and the drivers
costs a process about a second."""


class ColumnsUnavailable(Exception):
    """The chunk could not be read as columns (the driver refused the query or a
    value has a type its column does not declare); read it as tuples instead."""


class ColumnReader:
    """Reads the verify query for ``lo <= seq < hi`` as a polars DataFrame with
    :data:`COLUMNS` of :data:`SCHEMA`'s types (see the module doc); ``close``
    when done."""

    def __init__(self, run: Callable[[str], pa.Table], sql: str, close: Callable[[], None]) -> None:
        self._run = run
        self.sql = sql  # the verify query with two %d for lo and hi
        self._close = close

    def read(self, lo: int, hi: int) -> pl.DataFrame:
        """Entries ``lo <= seq < hi`` in seq order (an empty frame when none).

        Raises :class:`ColumnsUnavailable` when the driver cannot read them."""
        return self.query(self.sql % (lo, hi), SCHEMA)

    def query(self, sql: str, schema: Mapping[str, type[pl.DataType]]) -> pl.DataFrame:
        """Any query's result as a frame with ``schema``'s column names (in the
        query's order) and types. Raises :class:`ColumnsUnavailable`."""
        try:
            table = self._run(sql)
            frame = pl.from_arrow(table.rename_columns(list(schema)))
            assert isinstance(frame, pl.DataFrame)
            # large_binary, large_string, int32 and all-null columns arrive as such
            return frame.cast(pl.Schema(schema))
        except Exception as e:  # the drivers raise their own error types
            raise ColumnsUnavailable(str(e)) from e

    def close(self) -> None:
        self._close()


def _sqlite_reader(path: str, sql: str) -> ColumnReader | None:
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return None
    if not Path(path).exists():
        return None
    conn = adbc.connect(f"file:{path}?mode=ro", autocommit=False)  # one read transaction

    def run(query: str) -> pa.Table:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetch_arrow_table()

    return ColumnReader(run, sql, conn.close)


def _postgresql_reader(url: str, snapshot: str, sql: str) -> ColumnReader | None:
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError:
        return None
    if not SNAPSHOT_ID.match(snapshot):
        return None
    conn = adbc.connect(url, autocommit=False)
    try:
        with conn.cursor() as cursor:  # the first statements of its one transaction
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    except Exception:
        conn.close()
        return None

    def run(query: str) -> pa.Table:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetch_arrow_table()

    return ColumnReader(run, sql, conn.close)


SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")
"""What ``pg_export_snapshot()`` returns: safe to quote in ``SET TRANSACTION SNAPSHOT``."""


def open_reader(conn: Connection, sql: str) -> ColumnReader | None:
    """A reader of the verify query ``sql`` (two ``%d`` placeholders: lo, hi) on
    ``conn``'s database: an SQLite file or PostgreSQL; None for anything else (an
    SQLite database in memory, another engine) or when the driver is missing."""
    url = conn.engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return _sqlite_reader(str(Path(database).resolve()), sql)
    if backend == "postgresql":
        snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
        return _postgresql_reader(
            url.set(drivername="postgresql").render_as_string(hide_password=False), snapshot, sql
        )
    return None
