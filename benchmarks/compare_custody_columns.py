"""Each unit's chain and custody over chunks of entries: the numba kernel of
:func:`ledger.custody_columns.follow` beside ``EntryScan._follow_units``.

    python benchmarks/compare_custody_columns.py [--chunks 10] [--chunk 20000] [--per-unit 5]

The same synthetic entries both ways, no database: ``--chunks`` chunks of
``--chunk`` entries, each chunk ``--chunk / --per-unit`` fresh units that are
commissioned, shipped, received, shipped and received again (the kinds cycle for
``--per-unit`` other than 5), the units interleaved as scans of a ledger are;
prev hashes right, so no chain breaks. Times, best of ``--repeat``, in us per
entry:

1. ours: :func:`follow` per chunk, given int64 columns and the prev / leaf hashes
   as lists of bytes (what a polars chunk's ``to_numpy`` / ``to_list`` gives),
   into one :class:`UnitStore`; then :meth:`UnitStore.derived` once at the end
   (printed apart, per entry, since the tuple path builds its records as it goes);
   and again with prev as :class:`Hashes` of a polars Binary column (``Hashes.of``
   timed with it);
2. ``EntryScan._follow_units`` per chunk over tuple rows (the columns it reads set,
   the others None) into one scan's dict of units.

Both run with the cyclic garbage collector paused, as verify runs them
(:func:`ledger.verify_scan.paused_gc`). Prints both, the ratio, and the machine's load (figures mean little above 1.2 on
this two-core machine).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection

from ledger.custody_columns import Hashes, UnitStore, follow, kind_codes
from ledger.rows import CodeBook
from ledger.verify_scan import (
    CONTAINER_ID,
    COUNTERPARTY,
    KIND,
    LEAF,
    PARTY,
    PREV,
    RETRACTS,
    SEQ,
    UNIT_ID,
    EntryScan,
    paused_gc,
)

CYCLE = [
    ("commissioning", 1, None),
    ("shipping", 1, 2),
    ("receiving", 2, None),
    ("shipping", 2, 3),
    ("receiving", 3, None),
    ("retail_selling", 3, None),
]
CODES = CodeBook({1: "MFR", 2: "DIST", 3: "SHOP", None: ""}, {None: ""})


def make_chunk(first_seq: int, first_unit: int, size: int, per_unit: int) -> dict[str, Any]:
    """One chunk's columns: ``size`` entries over ``size // per_unit`` units."""
    units = max(size // per_unit, 1)
    heads: dict[int, bytes] = {}
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("seq", "unit", "kind", "party", "cp", "container", "retracts", "prev", "leaf")
    }
    for i in range(size):
        step, u = divmod(i, units)
        unit = first_unit + u
        kind, party, cp = CYCLE[step % len(CYCLE)]
        seq = first_seq + i
        leaf = hashlib.sha256(seq.to_bytes(8, "big")).digest()
        for name, value in (
            ("seq", seq),
            ("unit", unit),
            ("kind", kind),
            ("party", party),
            ("cp", cp),
            ("container", None),
            ("retracts", None),
            ("prev", heads.get(unit, b"")),
            ("leaf", leaf),
        ):
            cols[name].append(value)
        heads[unit] = leaf
    return cols


def run_ours(
    chunks: list[dict[str, Any]], columnar_prev: bool = False
) -> tuple[float, float, UnitStore]:
    """Seconds of follow over every chunk, then of derived(), and the store."""
    arrays = []
    for c in chunks:
        arrays.append(
            (
                np.array(c["seq"], np.int64),
                np.array(c["unit"], np.int64),
                kind_codes(c["kind"]),
                np.array(c["party"], np.int64),
                np.array([-1 if v is None else v for v in c["cp"]], np.int64),
                np.array([-1 if v is None else v for v in c["container"]], np.int64),
                np.array([v is not None for v in c["retracts"]], np.bool_),
                np.array([-1 if v is None else v for v in c["retracts"]], np.int64),
                pl.Series("prev_hash", c["prev"], dtype=pl.Binary)
                if columnar_prev
                else list(c["prev"]),
                list(c["leaf"]),
            )
        )
    store = UnitStore()
    t0 = time.perf_counter()
    for *a, prev, leaves in arrays:
        follow(store, *a, Hashes.of(prev) if columnar_prev else prev, leaves)
    t1 = time.perf_counter()
    store.derived(CODES)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, store


def _rows(c: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = []
    for i in range(len(c["seq"])):
        row: list[Any] = [None] * 18
        row[SEQ], row[KIND], row[PARTY] = c["seq"][i], c["kind"][i], c["party"][i]
        row[COUNTERPARTY], row[PREV], row[LEAF] = c["cp"][i], c["prev"][i], c["leaf"][i]
        row[UNIT_ID], row[RETRACTS], row[CONTAINER_ID] = (
            c["unit"][i],
            c["retracts"][i],
            c["container"][i],
        )
        out.append(tuple(row))
    return out


def run_python(chunks: list[dict[str, Any]]) -> tuple[float, EntryScan]:
    rows = [(_rows(c), list(c["leaf"])) for c in chunks]
    scan = EntryScan(cast(Connection, None), CODES, set(), lambda _n: [], lambda _s: [], 20_000)
    t0 = time.perf_counter()
    for r, leaves in rows:
        scan._follow_units(r, leaves)
    return time.perf_counter() - t0, scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--per-unit", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    units = max(args.chunk // args.per_unit, 1)
    chunks = [
        make_chunk(i * args.chunk, 1 + i * units, args.chunk, args.per_unit)
        for i in range(args.chunks)
    ]
    entries = args.chunks * args.chunk
    run_ours(chunks[:1])  # compile (or load numba's cache) outside the timing
    ours, flat, derived, py = float("inf"), float("inf"), float("inf"), float("inf")
    for _ in range(args.repeat):
        with paused_gc():  # as verify runs both
            o, d, store = run_ours(chunks)
            f, _, _ = run_ours(chunks, columnar_prev=True)
            p, scan = run_python(chunks)
        ours, flat, derived, py = min(ours, o), min(flat, f), min(derived, d), min(py, p)
    same = store.derived(CODES).keys() == scan.units.keys() and not scan.chain_breaks
    load = os.getloadavg()[0]
    us = 1e6 / entries
    print(
        f"{entries:,} entries in {args.chunks} chunks of {args.chunk:,}, "
        f"{args.per_unit} entries per unit; load {load:.2f}"
    )
    print(f"  follow (numba):          {ours * us:7.3f} us/entry")
    print(
        f"  follow, prev as Hashes:  {flat * us:7.3f} us/entry  (Hashes.of a polars column included)"
    )
    print(f"  derived() at the end:    {derived * us:7.3f} us/entry")
    print(f"  _follow_units (Python):  {py * us:7.3f} us/entry")
    print(
        f"  ratio Python / follow:   {py / ours:7.1f}x  (with derived(): {py / (ours + derived):.1f}x)"
    )
    print(f"  same units both ways:    {same}")


if __name__ == "__main__":
    main()
