"""Leaf hashes and scan digests of a chunk of entries held as a polars DataFrame.

The columnar verify path reads each chunk of entries as one DataFrame (Arrow from
the database driver) and needs, for every row, the RFC 6962 leaf hash of its
canonical bytes and the digest its scan receipt must hold, without a Python
format per row. Both JSON texts are built here with polars expressions (string
concatenation, hex, strftime, code look-ups); only the SHA-256 of each row's
bytes runs in Python, one ``hashlib`` call chain per row.

The result is always the reference's, byte for byte:
:func:`ledger.rows.canonical_bytes` for :func:`leaf_hashes` and
:func:`ledger.hops.scan_digest` called as
:func:`ledger.verify_scan.receipt_digest` calls it for :func:`scan_digests`.
The expressions cover the values whose text they can guarantee: strings of
printable ASCII without ``"`` or ``\\`` (nothing to escape) and times in the
years 1000 to 9999 (four-digit years in both encoders). A row holding anything
else (non-ASCII text, a control character, a quote, a time outside those years,
a null where the reference expects a value, an id the code book lacks) is
encoded by the reference itself, row by row; where the reference cannot encode
it either, the function raises ``ValueError`` and the caller falls back to its
own row-by-row path, which names the entry.

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
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl

from ledger import merkle
from ledger.canonical import _code
from ledger.encode_kernel import leaf_inputs
from ledger.entry_columns import COLUMNS, SCHEMA
from ledger.hops import scan_digest
from ledger.rows import CodeBook, canonical_bytes

__all__ = ["COLUMNS", "SCHEMA", "leaf_hashes", "scan_digests"]


# A character json.dumps(ensure_ascii=False) might escape or str.isprintable()
# rejects, or any non-ASCII one: such text is quoted by the reference instead.
# What is left (space to '~' less '"' and '\\') is quoted as it stands.
_NOT_PLAIN = r"[^ !#-\[\]-~]"

# at_ms of 1000-01-01T00:00:00Z and of 10000-01-01T00:00:00Z: chrono's %Y pads
# years below 1000 to four digits, the reference's strftime does not.
_FIRST_MS = -30_610_224_000_000
_END_MS = 253_402_300_800_000

_LEAF_PREFIX = hashlib.sha256(b"\x00")  # RFC 6962 leaf: SHA-256(0x00 || bytes)
_NO_PREFIX = hashlib.sha256()

_Reference = Callable[[tuple[Any, ...], CodeBook], bytes]


# The text columns; the few-valued ones are checked on their distinct values.
_TEXTS = ("kind", "unit", "container", "device", "anomaly")
_FEW_VALUES = frozenset({"kind", "device", "anomaly"})

Items = tuple[tuple[int | None, str], ...]


def _odd_columns(frame: pl.DataFrame) -> frozenset[str]:
    """The text columns holding a value that is not plain, and ``at_ms`` when a time
    lies outside the years 1000 to 9999: the expressions check those row by row
    (the rows holding such a value go to the reference); the others, as a rule all
    of them, are used as they stand."""
    at = pl.col("at_ms")
    checks = [
        (pl.col(c).unique() if c in _FEW_VALUES else pl.col(c))
        .str.contains(_NOT_PLAIN)
        .any()
        .alias(c)
        for c in _TEXTS
    ]
    checks.append(((at < _FIRST_MS) | (at >= _END_MS)).any().alias("at_ms"))
    flags = frame.select(checks).row(0)
    return frozenset(name for name, odd in zip((*_TEXTS, "at_ms"), flags, strict=True) if odd)


def _text(name: str, odd: frozenset[str], if_null: str | None = None) -> pl.Expr:
    """Column ``name`` to stand between two quotes (which the literals around it
    hold): as it is, or, where the column holds text that is not plain, null for
    those rows. ``if_null``: the text of a null (else the row's text is null)."""
    col = pl.col(name) if if_null is None else pl.col(name).fill_null(if_null)
    return pl.when(~col.str.contains(_NOT_PLAIN)).then(col) if name in odd else col


def _number(name: str) -> pl.Expr:
    """The integer in decimal, ``null`` for null (json.dumps's and ``%s``'s spelling)."""
    return pl.col(name).cast(pl.String).fill_null("null")


def _time(odd: frozenset[str], then: str) -> pl.Expr:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` as :func:`ledger.canonical.format_time`, followed
    by the text ``then``; null for a null time or, where ``at_ms`` is odd, for a
    time outside the years 1000 to 9999."""
    at = pl.col("at_ms")
    text = at.cast(pl.Datetime("ms")).dt.strftime(
        "%Y-%m-%dT%H:%M:%S%.3fZ" + then.replace("%", "%%")
    )
    return pl.when((at >= _FIRST_MS) & (at < _END_MS)).then(text) if "at_ms" in odd else text


def _lookup(name: str, by_id: dict[int, str], if_null: str | None, default: str | None) -> pl.Expr:
    """``by_id[id]`` for each id of column ``name``; ``if_null`` for a null id,
    ``default`` for an id not in ``by_id`` (None: null, the row goes to the reference)."""
    col = pl.col(name)
    if by_id:
        found = col.replace_strict(by_id, default=default, return_dtype=pl.String)
    else:
        found = pl.lit(default, dtype=pl.String)
    return pl.when(col.is_null()).then(pl.lit(if_null, dtype=pl.String)).otherwise(found)


def _quoted_codes(codes: Items) -> tuple[dict[int, str], str | None]:
    """Each id's code quoted as the reference quotes it (``_code``), and the null
    id's (None where the code book has no null id)."""
    by_id = {k: _code(v) for k, v in codes if k is not None}
    no_id = [_code(v) for k, v in codes if k is None]
    return by_id, no_id[0] if no_id else None


@lru_cache(maxsize=32)
def _leaf_text(parties_items: Items, sites_items: Items, odd: frozenset[str]) -> pl.Expr:
    """The canonical JSON of each row (:data:`ledger.canonical._TEMPLATE`'s keys in
    the same order, ``retracts`` between ``prev`` and ``seq`` where set); null for a
    row the expressions do not cover. Kept per code book and odd columns: building
    it costs about a millisecond."""
    parties, no_party = _quoted_codes(parties_items)
    sites, no_site = _quoted_codes(sites_items)
    retracts = pl.col("retracts_seq")
    return pl.concat_str(
        pl.lit('{"anomaly":"'),
        _text("anomaly", odd),
        pl.lit('","at":"'),
        _time(odd, then='","container":"'),
        _text("container", odd, if_null=""),
        pl.lit('","counterparty":'),
        _lookup("counterparty_id", parties, no_party, None),
        pl.lit(',"device":"'),
        _text("device", odd),
        pl.lit('","dseq":'),
        _number("device_seq"),
        pl.lit(',"kind":"'),
        _text("kind", odd),
        pl.lit('","lat":'),
        _number("lat_e6"),
        pl.lit(',"lon":'),
        _number("lon_e6"),
        pl.lit(',"party":'),
        _lookup("party_id", parties, no_party, None),
        pl.lit(',"prev":"'),
        pl.col("prev_hash").bin.encode("hex"),
        pl.when(retracts.is_null())
        .then(pl.lit('","seq":'))
        .otherwise(
            pl.concat_str(pl.lit('","retracts":'), retracts.cast(pl.String), pl.lit(',"seq":'))
        ),
        pl.col("seq").cast(pl.String),
        pl.lit(',"site":'),
        _lookup("site_id", sites, no_site, None),
        pl.lit(',"unit":"'),
        _text("unit", odd),
        pl.lit('"}'),
    )


@lru_cache(maxsize=32)
def _digest_text(parties_items: Items, odd: frozenset[str]) -> pl.Expr:
    """:data:`ledger.hops._DIGEST` of each row with receipt_digest's arguments: the
    party's code ("" for an id the code book lacks), the counterparty's ("" for
    none or an unknown id), the container only for packing; null for a row the
    expressions do not cover."""
    parties, _ = _quoted_codes(parties_items)  # _code("") is '""', as for no code
    no_party = dict(parties_items).get(None, "")  # receipt_digest: parties.get(id, "")
    container = pl.col("container")
    packing_into = ((pl.col("kind") == "packing") & (container != "")).fill_null(False)
    return pl.concat_str(
        pl.lit('{"at_ms":'),
        pl.col("at_ms").cast(pl.String),
        pl.lit(',"container":'),
        pl.when(packing_into)
        .then(pl.concat_str(pl.lit('"'), _text("container", odd), pl.lit('"')))
        .otherwise(pl.lit('""')),
        pl.lit(',"counterparty":'),
        _lookup("counterparty_id", parties, '""', '""'),
        pl.lit(',"kind":"'),
        _text("kind", odd),
        pl.lit('","party":'),
        _lookup("party_id", parties, _code(no_party), '""'),
        pl.lit(',"unit":"'),
        _text("unit", odd),
        pl.lit('"}'),
    )


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


def _hashes(
    df: pl.DataFrame,
    text: Callable[[frozenset[str]], pl.Expr],
    reference: _Reference,
    codes: CodeBook,
    start: hashlib._Hash,
) -> list[bytes]:
    """SHA-256 of ``start``'s bytes + each row's ``text(odd columns)``; for the rows
    where that is null, ``reference``'s hash of the row instead."""
    frame = df.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())
    texts = frame.select(text(_odd_columns(frame)).cast(pl.Binary)).to_series()
    raw: list[Any] = texts.to_list()
    odd = [i for i, value in enumerate(raw) if value is None] if texts.null_count() else []
    for i in odd:
        raw[i] = b""
    copy = start.copy
    out: list[bytes] = []
    append = out.append
    for value in raw:
        h = copy()
        h.update(value)
        append(h.digest())
    for i in odd:
        row = frame.row(i)
        try:
            out[i] = reference(row, codes)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"entry {row[0]} cannot be encoded: {type(e).__name__}: {e}") from e
    return out


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
    frame = df.select(pl.col(name).cast(dtype) for name, dtype in SCHEMA.items())
    data, offsets, odd = leaf_inputs(frame, codes)
    view = memoryview(data)  # type: ignore[arg-type]
    ends = offsets.tolist()
    sha = hashlib.sha256
    out = [sha(view[a:b]).digest() for a, b in itertools.pairwise(ends)]
    for i in np.flatnonzero(odd).tolist():
        row = frame.row(i)
        try:
            out[i] = _reference_leaf(row, codes)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"entry {row[0]} cannot be encoded: {type(e).__name__}: {e}") from e
    return out


def scan_digests(df: pl.DataFrame, codes: CodeBook) -> list[bytes]:
    """The scan digest (32 bytes, :func:`ledger.hops.scan_digest`) of every row of
    ``df``, in row order, as ``ledger.verify_scan.receipt_digest`` computes it for a
    scan whose scanned entry is that row: the unit key, kind and time, the party's
    code (``""`` for an id the code book lacks), the counterparty's (none for a null
    id, ``""`` for an unknown one) and the container key for a packing entry only.

    ``df`` and ``codes`` as for :func:`leaf_hashes`. Raises ``ValueError`` (naming
    the seq) for a row ``scan_digest`` cannot encode (a null unit, kind or time),
    where ``receipt_digest`` gives ``b""``; polars' errors as :func:`leaf_hashes`."""
    parties = tuple(codes.parties.items())
    return _hashes(df, lambda odd: _digest_text(parties, odd), _reference_digest, codes, _NO_PREFIX)
