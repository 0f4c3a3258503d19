"""Canonical bytes of a chunk of entries written by one compiled loop over Arrow buffers.

:func:`leaf_inputs` spells, for every row of a chunk held as polars columns
(:data:`ledger.entry_columns.SCHEMA`), ``b"\\x00"`` followed by the row's canonical
bytes (:mod:`ledger.canonical`: ``_TEMPLATE``, or ``_RETRACTS_TEMPLATE`` for an
error declaration) into one byte buffer, in a numba loop: literals copied, text
copied as it stands, integers and the RFC 3339 time spelled digit by digit, the
previous leaf hash in hex, party and site codes copied from their quoted form
(``canonical._code``). It spells only what it can spell exactly as the reference
does: a row with text that is not plain printable ASCII (anything JSON would
escape, or that ``str.isprintable`` questions), a time outside the years 1000 to
9999, a null where the reference needs a value or an id the code book lacks is
marked ``odd`` and left for the reference encoder (:func:`ledger.rows.canonical_bytes`),
which the caller runs on those rows alone. A property test holds the result to the
reference on generated rows (``tests/ledger/test_encode_columns.py``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from ledger.canonical import _code
from ledger.rows import CodeBook

__all__ = [
    "DIGEST_INTS",
    "DIGEST_TEXT",
    "LEAF_INTS",
    "LEAF_TEXT",
    "Ints",
    "LeafInputs",
    "Text",
    "digest_inputs",
    "leaf_inputs",
    "readonly",
    "spell_digests",
    "spell_leaves",
]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]

# The template's pieces between the values, in order (ledger.canonical._TEMPLATE).
_PIECES = (
    b'\x00{"anomaly":"',
    b'","at":"',
    b'Z","container":',
    b',"counterparty":',
    b',"device":"',
    b'","dseq":',
    b',"kind":"',
    b'","lat":',
    b',"lon":',
    b',"party":',
    b',"prev":"',
    b'","retracts":',
    b',"seq":',
    b'","seq":',
    b',"site":',
    b',"unit":"',
    b'"}',
)


class LeafInputs(NamedTuple):
    """``data[offsets[i]:offsets[i + 1]]``: ``b"\\x00"`` + row i's canonical bytes,
    empty where ``odd[i]`` (the reference encodes that row)."""

    data: U8
    offsets: I64
    odd: B1


Text = tuple[I64, U8, B1]
"""A text or binary column as the loops take it: Arrow offsets (n + 1), bytes, nulls."""
Ints = tuple[I64, B1]
"""An integer column as the loops take it: values (0 where null), nulls."""

LEAF_TEXT = ("kind", "unit", "container", "device", "anomaly", "prev_hash")
LEAF_INTS = (
    "seq",
    "at_ms",
    "party_id",
    "counterparty_id",
    "site_id",
    "lat_e6",
    "lon_e6",
    "device_seq",
    "retracts_seq",
)
DIGEST_TEXT = ("kind", "unit", "container")
DIGEST_INTS = ("at_ms", "party_id", "counterparty_id")


def readonly(a: Any) -> Any:
    """A read-only view of array ``a``. Every array the compiled loops take is
    handed over read-only: numba compiles (and caches) one version of a loop per
    combination of argument types, read-only or not included, and polars hands out
    copies or views of its buffers depending on the data; one combination means one
    version, loaded once (:mod:`ledger.verify_preload` loads it ahead)."""
    view = a.view()
    view.setflags(write=False)
    return view


def _frozen(columns: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    return [tuple(readonly(a) for a in columns[c]) for c in names]


def _text(series: pl.Series) -> Text:
    """(offsets, bytes, nulls) of a String or Binary column's Arrow buffers."""
    array: Any = series.to_arrow()
    if array.type not in (_LARGE_STRING, _LARGE_BINARY):
        array = array.cast(_LARGE_BINARY)
    buffers = array.buffers()
    n = len(array)
    offsets = np.frombuffer(buffers[1], np.int64)[array.offset : array.offset + n + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(1, np.uint8)
    return offsets, data, series.is_null().to_numpy()


def _ints(series: pl.Series) -> Ints:
    """(values with 0 for null, nulls) of an integer column."""
    return series.fill_null(0).cast(pl.Int64).to_numpy(), series.is_null().to_numpy()


def _codes(codes: dict[int | None, str]) -> tuple[I64, U8, B1, I64, int]:
    """Each id's quoted code (``canonical._code``) as offsets and bytes in a dense
    table by id (the null id's after the last), which ids have one, whether the
    null id has one, and the longest code in bytes."""
    ids = [k for k in codes if k is not None and k >= 0]
    size = max(ids) + 1 if ids else 1
    has = np.zeros(size, np.bool_)
    spelled = [b""] * size
    for k in ids:
        spelled[k] = _code(codes[k]).encode()
        has[k] = True
    none = _code(codes[None]).encode() if None in codes else b""
    offsets = np.zeros(size + 2, np.int64)
    np.cumsum([len(s) for s in [*spelled, none]], out=offsets[1:])
    data = np.frombuffer(b"".join([*spelled, none]) or b"\0", np.uint8)
    longest = max((len(x) for x in [*spelled, none]), default=0)
    return offsets, data, has, np.array([None in codes], np.int64), longest


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_LARGE_STRING, _LARGE_BINARY = pa.large_string(), pa.large_binary()


# ledger.hops._DIGEST's pieces between the values, in order.
_DIGEST_PIECES = (
    b'{"at_ms":',
    b',"container":',
    b',"counterparty":',
    b',"kind":"',
    b'","party":',
    b',"unit":"',
    b'"}',
)


def _arrays(
    df: pl.DataFrame, text: tuple[str, ...], ints: tuple[str, ...]
) -> tuple[dict[str, Text], dict[str, Ints]]:
    """The named text and integer columns of ``df`` as the loops take them."""
    return {c: _text(df[c]) for c in text}, {c: _ints(df[c]) for c in ints}


def digest_inputs(df: pl.DataFrame, codes: CodeBook) -> LeafInputs:
    """The scan digest inputs (``ledger.hops._DIGEST``'s text) of every row of ``df``
    as ``verify_scan.receipt_digest`` has ``scan_digest`` spell them for a scan
    whose scanned entry is that row; ``odd`` rows as for :func:`leaf_inputs`."""
    return spell_digests(df.height, *_arrays(df, DIGEST_TEXT, DIGEST_INTS), codes)


def spell_digests(
    n: int, text: dict[str, Text], ints: dict[str, Ints], codes: CodeBook
) -> LeafInputs:
    """:func:`digest_inputs` over the columns' arrays: ``text`` by name for
    :data:`DIGEST_TEXT` (offsets, bytes, nulls as :func:`_text` gives them),
    ``ints`` for :data:`DIGEST_INTS` (values, nulls as :func:`_ints`)."""
    from ledger.encode_jit import build_digests

    kind, unit, container = _frozen(text, DIGEST_TEXT)
    at, party, cp = _frozen(ints, DIGEST_INTS)
    parties = _codes(codes.parties)
    room = 120 * n + sum(len(t[1]) for t in (kind, unit, container)) + n * 2 * parties[4]
    pieces = [np.frombuffer(p, np.uint8) for p in _DIGEST_PIECES]
    loop: Any = build_digests  # numba types the arrays
    data, offsets, odd = loop(
        n, room, *at, *kind, *unit, *party, *cp, *container, *parties[:4], _PACKING, *pieces
    )
    return LeafInputs(data, offsets, odd)


_PACKING = np.frombuffer(b"packing", np.uint8)


def leaf_inputs(df: pl.DataFrame, codes: CodeBook) -> LeafInputs:
    """The leaf hash inputs of every row of ``df`` (see the module doc)."""
    return spell_leaves(df.height, *_arrays(df, LEAF_TEXT, LEAF_INTS), codes)


def spell_leaves(
    n: int, text: dict[str, Text], ints: dict[str, Ints], codes: CodeBook
) -> LeafInputs:
    """:func:`leaf_inputs` over the columns' arrays: ``text`` by name for
    :data:`LEAF_TEXT` (offsets, bytes, nulls as :func:`_text` gives them),
    ``ints`` for :data:`LEAF_INTS` (values, nulls as :func:`_ints`)."""
    kind, unit, container, device, anomaly, prev = _frozen(text, LEAF_TEXT)
    seq, at, party, cp, site, lat, lon, dseq, retracts = _frozen(ints, LEAF_INTS)
    parties, sites = _codes(codes.parties), _codes(codes.sites)
    room = 400 * n + sum(len(t[1]) for t in (kind, unit, container, device, anomaly))
    room += 2 * len(prev[1]) + n * (3 * parties[4] + sites[4])
    pieces = [np.frombuffer(p, np.uint8) for p in _PIECES]
    data, offsets, odd = _kernel()(
        n, room, *seq, *at, *kind, *unit, *party, *cp, *site, *lat, *lon, *container,
        *device, *dseq, *anomaly, *prev, *retracts, *parties[:4], *sites[:4], _HEX, *pieces,
    )  # fmt: skip
    return LeafInputs(data, offsets, odd)


_COMPILED: Any = None


def _kernel() -> Any:
    """The compiled loop (:mod:`ledger.encode_jit`: numba imported on first use, the
    machine code cached on disk beside the module)."""
    global _COMPILED
    if _COMPILED is None:
        from ledger.encode_jit import build

        _COMPILED = build
    return _COMPILED
