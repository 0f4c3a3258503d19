"""Leaf hashes of a chunk as a polars DataFrame beside the row encoder, same run.

    python benchmarks/compare_encode_columns.py [--entries 200000] [--chunk 20000]
        [--first 100000] [--repeat 7]

Reads one chunk of the kept verification ledger (:mod:`benchmarks.verify_setup`,
built first when missing) as Arrow columns through :mod:`ledger.entry_columns`, as
the columnar verify path does, and times on the very same rows, best of ``--repeat`` (wall and CPU time a
row):

1. ours: :func:`ledger.encode_columns.leaf_hashes` on the DataFrame, and apart,
   its two parts: the bytes spelled by the numba loop (:mod:`ledger.encode_kernel`),
   and SHA-256 of each row's bytes;
2. the row path: ``[merkle.leaf_hash(b) for b in rows.encode_rows(rows, codes)]``
   on the rows as tuples (``DataFrame.rows()``);
3. :func:`ledger.encode_columns.scan_digests` beside ``hops.scan_digest`` called
   row by row as ``verify_scan.receipt_digest`` calls it.

Both results are checked equal before anything is timed. Timings mean something
only on an idle machine: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sqlite3
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.verify_setup import kept_ledger
from ledger import encode_columns, merkle
from ledger.database import make_engine
from ledger.encode_columns import leaf_hashes, scan_digests
from ledger.encode_kernel import leaf_inputs
from ledger.entry_columns import open_reader
from ledger.rows import CodeBook, encode_rows
from ledger.verify_scan import _SQL


def _chunk(path: str, first: int, count: int) -> pl.DataFrame:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        reader = open_reader(conn, _SQL.format(ph="%d"))
        assert reader is not None, "the ADBC SQLite driver is missing"
        try:
            return reader.read(first, first + count)
        finally:
            reader.close()
            engine.dispose()


def _codes(path: str) -> CodeBook:
    with sqlite3.connect(path) as conn:

        def read(table: str) -> dict[int | None, str]:
            out: dict[int | None, str] = {
                int(i): str(c) for i, c in conn.execute(f"SELECT id, code FROM {table}")
            }
            out[None] = ""
            return out

        return CodeBook(read("parties"), read("sites"))


def _best(run: Callable[[], Any], repeat: int, rows: int) -> tuple[float, float]:
    """Best wall and best CPU time of ``run``, microseconds a row."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls) * 1e6 / rows, min(cpus) * 1e6 / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--first", type=int, default=100_000, help="seq of the chunk's first row")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    url = kept_ledger("sqlite", args.entries)
    path = os.path.abspath(url.removeprefix("sqlite:///"))
    codes = _codes(path)
    read = timeit.default_timer()
    df = _chunk(path, args.first, args.chunk)
    read = timeit.default_timer() - read
    rows = df.rows()
    n = len(rows)
    if n == 0:
        sys.exit(f"no entries from seq {args.first} in {path}")

    ours = leaf_hashes(df, codes)
    if ours != [merkle.leaf_hash(b) for b in encode_rows(rows, codes)]:
        sys.exit("leaf_hashes differs from encode_rows + merkle.leaf_hash")
    if ours != df["leaf_hash"].to_list():
        print("note: some computed leaf hashes differ from the stored ones")
    digests = scan_digests(df, codes)
    if digests != [encode_columns._reference_digest(r, codes) for r in rows]:
        sys.exit("scan_digests differs from hops.scan_digest")

    frame = df.select(pl.col(c).cast(t) for c, t in encode_columns.SCHEMA.items())
    spelled = leaf_inputs(frame, codes)

    def hash_only() -> None:
        view, sha = memoryview(spelled.data), hashlib.sha256  # type: ignore[arg-type]
        for a, b in itertools.pairwise(spelled.offsets.tolist()):
            sha(view[a:b]).digest()

    timings = {
        "leaf_hashes (DataFrame)": _best(lambda: leaf_hashes(df, codes), args.repeat, n),
        "  its spelling (numba over Arrow)": _best(
            lambda: leaf_inputs(frame, codes), args.repeat, n
        ),
        "  its SHA-256 of each row": _best(hash_only, args.repeat, n),
        "encode_rows + merkle.leaf_hash": _best(
            lambda: [merkle.leaf_hash(b) for b in encode_rows(rows, codes)], args.repeat, n
        ),
        "scan_digests (DataFrame)": _best(lambda: scan_digests(df, codes), args.repeat, n),
        "hops.scan_digest row by row": _best(
            lambda: [encode_columns._reference_digest(r, codes) for r in rows], args.repeat, n
        ),
    }
    load = os.getloadavg()[0]
    print(f"{n} rows from seq {args.first} of {path}; read as columns in {read * 1e3:.0f} ms")
    print(f"load average {load:.2f} on {os.cpu_count()} cores; best of {args.repeat}")
    print(f"{'':38} {'wall us/row':>12} {'cpu us/row':>11}")
    for name, (wall, cpu) in timings.items():
        print(f"{name:38} {wall:12.3f} {cpu:11.3f}")
    leaf, row = timings["leaf_hashes (DataFrame)"], timings["encode_rows + merkle.leaf_hash"]
    digest, plain = timings["scan_digests (DataFrame)"], timings["hops.scan_digest row by row"]
    print(f"leaf hashes: row path / columns = {row[0] / leaf[0]:.2f}x (wall)")
    print(f"scan digests: row path / columns = {plain[0] / digest[0]:.2f}x (wall)")


if __name__ == "__main__":
    main()
