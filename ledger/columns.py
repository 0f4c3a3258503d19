"""The ledger's entries as integer columns, streamed in chunks: what snapshots read.

:func:`entry_column_chunks` turns entries ``lo <= seq < hi`` into ``(rows, 8)``
``int64`` matrices whose columns are :data:`ENTRY_COLUMNS`. The database does the
conversions (kind names to :attr:`ledger.ids.EntryKind.code`, NULLs to sentinels)
so that each chunk becomes one matrix in a single numpy conversion, never a Python
loop per value:

- PostgreSQL (psycopg 3): ``COPY (SELECT ...) TO STDOUT (FORMAT binary)``. Every
  field is a non-NULL ``bigint``, so every row of the binary stream has the same
  98 bytes (PostgreSQL documentation, "COPY", section "Binary Format": a 16-bit
  field count, then per field a 32-bit length and the 8 big-endian bytes) and a
  chunk of rows is read with one :func:`numpy.frombuffer`.
- SQLite (and any other driver): the driver's own cursor with ``fetchmany``;
  building SQLAlchemy rows would cost as much as the fetch itself.

Both give identical matrices for the same rows (``tests/ledger/test_columns.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from ledger.ids import EntryKind

__all__ = [
    "DEFAULT_CHUNK",
    "ENTRY_COLUMNS",
    "NO_COORD",
    "ColumnReadError",
    "entry_column_chunks",
]

#: Column order of every matrix :func:`entry_column_chunks` yields.
ENTRY_COLUMNS = (
    "seq",
    "unit_id",
    "kind",
    "party_id",
    "counterparty_id",
    "at_ms",
    "lat_e6",
    "lon_e6",
)
#: ``lat_e6``/``lon_e6`` of an entry without a location (no scan fix and no site):
#: the smallest int32, which no micro-degree coordinate (|value| <= 180e6) can be.
#: :mod:`settlement.kernels` uses this same value.
NO_COORD = -2147483648
#: Rows per matrix unless asked otherwise: 500,000 rows are 32 MB of int64.
DEFAULT_CHUNK = 500_000

_WIDTH = len(ENTRY_COLUMNS)
_PG_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_PG_HEADER = len(_PG_SIGNATURE) + 8  # signature, flags int32, extension length int32
_PG_TRAILER = b"\xff\xff"  # field count -1
# One binary COPY row of eight non-NULL bigints: count, then (length, value) pairs.
_PG_ROW = np.dtype(
    [("count", ">i2")]
    + [item for i in range(_WIDTH) for item in ((f"len{i}", ">i4"), (f"v{i}", ">i8"))]
)


class ColumnReadError(ValueError):
    """The asked range or chunk size is not valid, or the database sent rows that
    do not have the expected shape."""


def _select(lo: int, hi: int) -> str:
    # The bounds are our own integers (checked below), safe to inline; every column
    # is cast to bigint so that PostgreSQL's binary rows all have one fixed size.
    kind_case = " ".join(f"WHEN '{k.value}' THEN {k.code}" for k in EntryKind)
    return (
        "SELECT CAST(seq AS BIGINT), CAST(unit_id AS BIGINT), "
        f"CAST(CASE kind {kind_case} ELSE -1 END AS BIGINT), CAST(party_id AS BIGINT), "
        "CAST(COALESCE(counterparty_id, -1) AS BIGINT), CAST(at_ms AS BIGINT), "
        f"CAST(COALESCE(lat_e6, {NO_COORD}) AS BIGINT), "
        f"CAST(COALESCE(lon_e6, {NO_COORD}) AS BIGINT) "
        f"FROM entries WHERE seq >= {lo:d} AND seq < {hi:d} ORDER BY seq"
    )


def entry_column_chunks(
    conn: Connection, lo: int, hi: int, chunk: int = DEFAULT_CHUNK
) -> Iterator[npt.NDArray[np.int64]]:
    """Entries ``lo <= seq < hi`` as ``(rows, 8)`` int64 matrices, in seq order.

    Columns are :data:`ENTRY_COLUMNS`: ``kind`` is :attr:`EntryKind.code` (-1 for a
    stored kind string that is no :class:`~ledger.ids.EntryKind`),
    ``counterparty_id`` is -1 when NULL, ``lat_e6``/``lon_e6`` are :data:`NO_COORD`
    when NULL. Every matrix holds ``chunk`` rows except the last, which holds the
    rest (at least one); an empty range yields nothing. Rows are those stored: a
    missing seq is simply absent (checking for gaps is the caller's business,
    as :func:`settlement.snapshot.load_snapshot` does).

    Reads inside ``conn``'s transaction, so a caller holding one sees one
    consistent ledger. Raises :class:`ColumnReadError` when ``lo`` is negative,
    ``hi < lo`` or ``chunk < 1``.
    """
    for name, value in (("lo", lo), ("hi", hi), ("chunk", chunk)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ColumnReadError(f"{name} must be an integer, got {value!r}")
    lo, hi, chunk = int(lo), int(hi), int(chunk)
    if lo < 0:
        raise ColumnReadError(f"lo must be >= 0 (the first seq is 0), got {lo}")
    if hi < lo:
        raise ColumnReadError(f"hi ({hi}) must not be below lo ({lo})")
    if chunk < 1:
        raise ColumnReadError(f"chunk must be at least 1 row, got {chunk}")
    if hi == lo:
        return
    dbapi = conn.connection.driver_connection
    if dbapi is None:  # pragma: no cover - a pooled connection always has one
        raise ColumnReadError("the database connection has no driver connection")
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        yield from _copy_chunks(dbapi, _select(lo, hi), chunk)
    else:
        yield from _cursor_chunks(dbapi, _select(lo, hi), chunk)


def _cursor_chunks(dbapi: Any, query: str, chunk: int) -> Iterator[npt.NDArray[np.int64]]:
    cursor = dbapi.cursor()
    try:
        cursor.execute(query)
        while rows := cursor.fetchmany(chunk):
            flat = itertools.chain.from_iterable(rows)
            yield np.fromiter(flat, dtype=np.int64, count=_WIDTH * len(rows)).reshape(
                len(rows), _WIDTH
            )
    finally:
        cursor.close()


def _rows_matrix(buf: bytes | bytearray, count: int) -> npt.NDArray[np.int64]:
    rows = np.frombuffer(buf, dtype=_PG_ROW, count=count)
    if (rows["count"] != _WIDTH).any() or any((rows[f"len{i}"] != 8).any() for i in range(_WIDTH)):
        raise ColumnReadError("the database sent COPY rows that are not eight bigints")
    out = np.empty((count, _WIDTH), dtype=np.int64)
    for i in range(_WIDTH):
        out[:, i] = rows[f"v{i}"]
    return out


def _copy_chunks(dbapi: Any, query: str, chunk: int) -> Iterator[npt.NDArray[np.int64]]:
    row_bytes = _PG_ROW.itemsize
    want = chunk * row_bytes
    buf = bytearray()
    started = False
    with dbapi.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as cp:
        for data in cp:  # one COPY message (a row) at a time, appended to one buffer
            buf += data
            if not started and len(buf) >= _PG_HEADER:
                if buf[: len(_PG_SIGNATURE)] != _PG_SIGNATURE:
                    raise ColumnReadError("the database's COPY output is not binary COPY")
                extension = int.from_bytes(buf[len(_PG_SIGNATURE) + 4 : _PG_HEADER], "big")
                del buf[: _PG_HEADER + extension]
                started = True
            if started and len(buf) >= want:
                yield _rows_matrix(buf, chunk)
                del buf[:want]
    if not started or bytes(buf[-2:]) != _PG_TRAILER or (len(buf) - 2) % row_bytes:
        raise ColumnReadError("the database's COPY output ended in the middle of a row")
    rest = (len(buf) - 2) // row_bytes
    if rest:
        yield _rows_matrix(buf, rest)
