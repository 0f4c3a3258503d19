"""Leaf hashes and scan digests of a chunk of entries held as a polars DataFrame.

The columnar verify path reads each chunk of entries as one DataFrame (Arrow from
the database driver) and needs, for every row, the RFC 6962 leaf hash of its
canonical bytes and the digest its scan receipt must hold, without a Python
format per row. Both texts are spelled into one byte buffer by a compiled loop
over the columns' Arrow buffers (:mod:`ledger.encode_kernel`); only the SHA-256
of each row's bytes runs in Python, one ``hashlib`` call per row.

The result is always the reference's, byte for byte:
:func:`ledger.rows.canonical_bytes` for :func:`leaf_hashes` and
:func:`ledger.hops.scan_digest` called as
:func:`ledger.verify_scan.receipt_digest` calls it for :func:`scan_digests`.
The loop spells the values whose text it can guarantee: strings of printable
ASCII without ``"`` or ``\\`` (nothing to escape) and times in the years 1000 to
9999. A row holding anything else (non-ASCII text, a control character, a quote,
a time outside those years, a null where the reference expects a value, an id
the code book lacks) is encoded by the reference itself, row by row; where the
reference cannot encode it either, the function raises ``ValueError`` and the
caller falls back to its own row-by-row path, which names the entry.

Column names and dtypes (:data:`SCHEMA`, ``ledger.verify_scan._SQL``'s order):
seq Int64, kind String, at_ms Int64, unit String, party_id Int64,
counterparty_id Int64, site_id Int64, lat_e6 Int64, lon_e6 Int64,
container String, device String, device_seq Int64, anomaly String,
prev_hash Binary, leaf_hash Binary, unit_id Int64, retracts_seq Int64,
container_id Int64. Other dtypes are cast to these (a column of nulls only, an
Int32, a Categorical); extra columns are ignored.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from ledger import merkle
from ledger.encode_kernel import LeafInputs, digest_inputs, leaf_inputs
from ledger.entry_columns import COLUMNS, SCHEMA
from ledger.hops import scan_digest
from ledger.rows import CodeBook, canonical_bytes

__all__ = ["COLUMNS", "SCHEMA", "leaf_hashes", "scan_digests"]


_Reference = Callable[[tuple[Any, ...], CodeBook], bytes]


def _reference_leaf(row: tuple[Any, ...], codes: CodeBook) -> bytes:
    """The reference leaf hash of one row (a tuple in :data:`COLUMNS` order)."""
    return merkle.leaf_hash(canonical_bytes(row, codes))


def _reference_digest(row: tuple[Any, ...], codes: CodeBook) -> bytes:
    """``hops.scan_digest`` of one row, called exactly as ``receipt_digest`` calls it
    for its scanned row (which turns the errors this raises into ``b""``)."""
    parties = codes.parties
    kind, cp = row[1], row[5]
    return scan_digest(
        row[3],
        kind,
        row[2],
        parties.get(row[4], ""),
        None if cp is None else parties.get(cp, ""),
        row[9] if kind == "packing" else None,
    )


def leaf_hashes(df: pl.DataFrame, codes: CodeBook) -> list[bytes]:
    """The RFC 6962 leaf hash (32 bytes, SHA-256 of ``0x00`` + canonical bytes) of
    every row of ``df``, in row order: for each row, what
    ``merkle.leaf_hash(rows.canonical_bytes(row, codes))`` gives for it as a tuple.

    ``df``: the columns of :data:`SCHEMA` (any order, extra columns ignored), one
    row per entry. ``codes``: party and site codes by id (``None`` -> the code of a
    null id; a null id with no such key cannot be encoded).

    Raises ``ValueError`` (naming the seq) for a row the reference cannot encode
    either: a party or site id the code book lacks, a null unit, kind, time,
    device, anomaly, seq or prev hash, a time no date holds; and polars'
    ``ColumnNotFoundError`` or ``InvalidOperationError`` for a missing column or
    one that cannot be cast to its dtype."""
    return _hashed(df, codes, leaf_inputs, _reference_leaf)


def scan_digests(df: pl.DataFrame, codes: CodeBook) -> list[bytes]:
    """The scan digest (32 bytes, :func:`ledger.hops.scan_digest`) of every row of
    ``df``, in row order, as ``ledger.verify_scan.receipt_digest`` computes it for a
    scan whose scanned entry is that row: the unit key, kind and time, the party's
    code (``""`` for an id the code book lacks), the counterparty's (none for a null
    id, ``""`` for an unknown one) and the container key for a packing entry only.

    ``df`` and ``codes`` as for :func:`leaf_hashes`. Raises ``ValueError`` (naming
    the seq) for a row ``scan_digest`` cannot encode (a null unit, kind or time),
    where ``receipt_digest`` gives ``b""``; polars' errors as :func:`leaf_hashes`."""
    return _hashed(df, codes, digest_inputs, _reference_digest)


def _hashed(
    df: pl.DataFrame,
    codes: CodeBook,
    spell: Callable[[pl.DataFrame, CodeBook], LeafInputs],
    reference: _Reference,
) -> list[bytes]:
    """SHA-256 of each row's bytes as ``spell`` gives them; for the rows it leaves
    to the reference, ``reference``'s hash of the row instead."""
    frame = df.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())
    data, offsets, odd = spell(frame, codes)
    view = memoryview(data)  # type: ignore[arg-type]
    sha = hashlib.sha256
    out = [sha(view[a:b]).digest() for a, b in itertools.pairwise(offsets.tolist())]
    for i in np.flatnonzero(odd).tolist():
        row = frame.row(i)
        try:
            out[i] = reference(row, codes)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"entry {row[0]} cannot be encoded: {type(e).__name__}: {e}") from e
    return out
