"""What a ``verify --jobs`` worker needs, loaded once in the server that forks them.

Workers are started by multiprocessing's forkserver when the verifying process has
threads (:func:`ledger.verify_parallel._start_method`). The server imports this
module once; each worker forked from it then starts with the modules imported and
the column path's compiled loops and drivers loaded, instead of loading them itself: numba
reads each loop's machine code from its on-disk cache and types it on the first
call, about 0.4 s of CPU a worker.

:func:`load_kernels` makes that first call of each loop on two made-up entries
whose columns have the types a chunk read from the database has
(:data:`ledger.entry_columns.SCHEMA`), so the worker's real chunks find the same
compiled version (``tests/ledger/test_verify_preload.py`` checks that a real
verification adds none).
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np

import ledger.verify_range  # noqa: F401  (what the worker runs, with its imports)
from ledger.custody_columns import KIND_CODES, UnitStore, follow
from ledger.encode_kernel import (
    DIGEST_INTS,
    DIGEST_TEXT,
    LEAF_INTS,
    LEAF_TEXT,
    Ints,
    Text,
    spell_digests,
    spell_leaves,
)
from ledger.rows import CodeBook

__all__ = ["load_drivers", "load_kernels"]

# Two made-up entries, by column (ledger.entry_columns.SCHEMA): a commissioning
# without a device, then a shipping scan.
_TEXT: dict[str, list[bytes | None]] = {
    "kind": [b"commissioning", b"shipping"],
    "unit": [b"(01)1(21)A", b"(01)1(21)A"],
    "container": [None, b""],
    "device": [b"", b"D"],
    "anomaly": [b"", b""],
    "prev_hash": [b"", b"\0" * 32],
}
_INTS: dict[str, list[int | None]] = {
    "seq": [0, 1],
    "at_ms": [1_700_000_000_000, 1_700_000_000_001],
    "party_id": [1, 1],
    "counterparty_id": [None, 2],
    "site_id": [1, 1],
    "lat_e6": [0, 1],
    "lon_e6": [0, -1],
    "device_seq": [None, 1],
    "retracts_seq": [None, None],
}


def _text(values: list[bytes | None]) -> Text:
    lengths = [0 if v is None else len(v) for v in values]
    offsets = np.zeros(len(values) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.frombuffer(b"".join(v or b"" for v in values) or b"\0", np.uint8)
    return offsets, data, np.array([v is None for v in values], np.bool_)


def _ints(values: list[int | None]) -> Ints:
    filled = np.array([0 if v is None else v for v in values], np.int64)
    return filled, np.array([v is None for v in values], np.bool_)


def load_kernels() -> None:
    """Run the leaf, scan digest and custody loops once (see the module doc). Uses
    numpy only: polars would start its thread pool here, and a worker forked from a
    process whose pool has run waits forever on its first parallel step."""
    codes = CodeBook({1: "P1", 2: "P2", None: ""}, {1: "S1", None: ""})
    text = {c: _text(_TEXT[c]) for c in {*LEAF_TEXT, *DIGEST_TEXT}}
    ints = {c: _ints(_INTS[c]) for c in {*LEAF_INTS, *DIGEST_INTS}}
    n = len(_INTS["seq"])
    spell_leaves(n, text, ints, codes)
    spell_digests(n, text, ints, codes)
    unit = np.array([1, 1], np.int64)
    kind = np.array([KIND_CODES[k.decode()] for k in _TEXT["kind"] if k], np.int64)
    minus = np.array([-1, -1], np.int64)
    follow(
        UnitStore(), ints["seq"][0], unit, kind, ints["party_id"][0], minus, minus,
        np.zeros(n, np.bool_), minus, _TEXT["prev_hash"], [b"\1" * 32] * n,
    )  # fmt: skip


def load_drivers() -> None:
    """Import the column readers' drivers that are installed (their native
    libraries are loaded on import)."""
    for driver in ("adbc_driver_sqlite.dbapi", "adbc_driver_postgresql.dbapi"):
        with contextlib.suppress(ImportError):
            importlib.import_module(driver)


# A warm-up that fails costs each worker the loading, nothing else: it must never
# stop the server (an exception here would end it, and every worker with it).
with contextlib.suppress(Exception):
    load_drivers()
    load_kernels()
