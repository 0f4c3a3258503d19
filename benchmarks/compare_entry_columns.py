"""Reading the ledger's entries as int64 columns on PostgreSQL, beside the alternatives.

    python benchmarks/compare_entry_columns.py [--rows 2000000] [--chunk 500000]

Fills a temporary schema's ``entries`` (``generate_series``, no hashing: only the
read is measured) and reads every row as ``(rows, 8)`` int64 matrices three ways,
in the same run, best of ``--repeat``:

1. ours: :func:`ledger.columns.entry_column_chunks`, ``COPY (SELECT ...) TO STDOUT
   (FORMAT binary)`` parsed with one ``numpy.frombuffer`` per chunk;
2. text COPY of the same SELECT, parsed with ``numpy.fromstring``-style bulk
   conversion (the other COPY format);
3. the driver cursor, ``fetchall`` of tuples turned into a matrix with
   ``numpy.fromiter`` (what ``load_snapshot`` did before, and still does on SQLite).

Needs a PostgreSQL server (``HOPCHAIN_TEST_PG_URL``, default the test server).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ledger_setup import fresh_database
from ledger.columns import _select, entry_column_chunks

_SPACES = bytes.maketrans(b"\t\n", b"  ")
Reader = Callable[[Connection, int, int], Iterator[npt.NDArray[np.int64]]]


def _fill(conn: Connection, rows: int) -> None:
    units = max(rows // 8, 1)
    conn.exec_driver_sql(
        "INSERT INTO units (id, key, state) SELECT g, 'U' || g, 'in_stock' "
        f"FROM generate_series(1000, {units + 1000}) g"
    )
    conn.exec_driver_sql(
        "INSERT INTO entries (seq, unit_id, kind, at_ms, party_id, counterparty_id, lat_e6, "
        "lon_e6, device, anomaly, prev_hash, leaf_hash) SELECT g, 1000 + mod(g, "
        f"{units}), (ARRAY['commissioning','shipping','receiving','retail_selling'])[1 + mod(g, 4)], "
        "1790000000000 + g * 1000, 1, CASE WHEN mod(g, 3) = 0 THEN NULL ELSE 2 END, "
        "CASE WHEN mod(g, 5) = 0 THEN NULL ELSE 48000000 + mod(g, 1000) END, "
        "CASE WHEN mod(g, 5) = 0 THEN NULL ELSE 11000000 - mod(g, 1000) END, '', '', "
        "'\\x00'::bytea, '\\x00'::bytea "
        f"FROM generate_series(0, {rows - 1}) g"
    )
    conn.exec_driver_sql("ANALYZE entries")


def _text_copy(conn: Connection, lo: int, hi: int, chunk: int) -> Iterator[npt.NDArray[np.int64]]:
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    buf = bytearray()
    lines = 0
    with dbapi.cursor() as cur, cur.copy(f"COPY ({_select(lo, hi)}) TO STDOUT") as cp:
        for data in cp:
            buf += data
            lines += 1
            if lines == chunk:
                yield _parse_text(buf, lines)
                buf.clear()
                lines = 0
    if lines:
        yield _parse_text(buf, lines)


def _parse_text(buf: bytearray, lines: int) -> npt.NDArray[np.int64]:
    flat = np.fromstring(buf.translate(_SPACES).decode(), dtype=np.int64, sep=" ")
    return flat.reshape(lines, 8)


def _cursor(conn: Connection, lo: int, hi: int, chunk: int) -> Iterator[npt.NDArray[np.int64]]:
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    for start in range(lo, hi, chunk):
        with dbapi.cursor() as cur:
            cur.execute(_select(start, min(hi, start + chunk)))
            rows = cur.fetchall()
        flat = itertools.chain.from_iterable(rows)
        yield np.fromiter(flat, dtype=np.int64, count=8 * len(rows)).reshape(len(rows), 8)


def _time(
    conn: Connection, read: Callable[[], Iterator[npt.NDArray[np.int64]]]
) -> tuple[float, int]:
    started = time.perf_counter()
    total = 0
    check = 0
    for m in read():
        total += m.shape[0]
        check ^= int(np.bitwise_xor.reduce(m, axis=None))
    return time.perf_counter() - started, check ^ total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with fresh_database("postgresql") as engine, engine.connect() as conn:
        with conn.begin():
            _fill(conn, args.rows)
        n, c = args.rows, args.chunk
        ways: dict[str, Callable[[], Iterator[npt.NDArray[np.int64]]]] = {
            "binary COPY (ours)": lambda: entry_column_chunks(conn, 0, n, c),
            "text COPY": lambda: _text_copy(conn, 0, n, c),
            "cursor fetchall": lambda: _cursor(conn, 0, n, c),
        }
        best: dict[str, float] = {}
        checks = set()
        for _ in tqdm(range(args.repeat), desc="rounds", unit="round"):
            for name, read in ways.items():
                seconds, check = _time(conn, read)
                checks.add(check)
                best[name] = min(best.get(name, seconds), seconds)
        assert len(checks) == 1, "the three readers disagree"
    ours = best["binary COPY (ours)"]
    print(f"{n:,} entries, chunks of {c:,}, best of {args.repeat}:")
    for name, seconds in best.items():
        print(
            f"  {name:20s} {seconds:7.2f} s  {n / seconds:12,.0f} rows/s  "
            f"ours / this: {ours / seconds:4.2f}x the time"
        )


if __name__ == "__main__":
    main()
