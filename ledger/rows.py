"""Entries as stored rows, and their canonical bytes re-encoded from the columns.

Verification and the public ``/ledger/entries`` endpoint both need "the bytes this
row hashes to"; they share this one reader so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ledger.canonical import (
    _RETRACTS_TEMPLATE,
    _TEMPLATE,
    _code,
    _format_second,
    _s,
    encode_values,
)
from ledger.database import fetch_all, placeholder

__all__ = ["CodeBook", "Row", "canonical_bytes", "encode_rows", "fetch_rows", "load_codebook"]

Row = tuple[Any, ...]
"""(seq, kind, at_ms, unit key, party_id, counterparty_id, site_id, lat_e6, lon_e6,
container key, device, device_seq, anomaly, prev_hash, leaf_hash, unit_id, retracts_seq)"""

SEQ, LEAF_HASH, PREV_HASH, UNIT_ID, RETRACTS = 0, 14, 13, 15, 16

_SQL = (
    "SELECT e.seq, e.kind, e.at_ms, u.key, e.party_id, e.counterparty_id, e.site_id,"
    " e.lat_e6, e.lon_e6, c.key, e.device, e.device_seq, e.anomaly, e.prev_hash, e.leaf_hash,"
    " e.unit_id, e.retracts_seq FROM entries e JOIN units u ON u.id = e.unit_id"
    " LEFT JOIN units c ON c.id = e.container_id"
    " WHERE e.seq >= {ph} AND e.seq < {ph} ORDER BY e.seq"
)


@dataclass(frozen=True, slots=True)
class CodeBook:
    """Party and site codes by id: few rows, read once instead of joined per entry."""

    parties: dict[int | None, str]
    sites: dict[int | None, str]


def _codes(conn: Connection, table: str) -> dict[int | None, str]:
    out: dict[int | None, str] = {
        int(i): str(c) for i, c in conn.exec_driver_sql(f"SELECT id, code FROM {table}")
    }
    out[None] = ""
    return out


def load_codebook(conn: Connection) -> CodeBook:
    return CodeBook(_codes(conn, "parties"), _codes(conn, "sites"))


def fetch_rows(conn: Connection, lo: int, hi: int) -> list[Row]:
    """Entries with lo <= seq < hi, in seq order."""
    return fetch_all(conn, _SQL.format(ph=placeholder(conn)), (lo, hi))


def canonical_bytes(row: Row, codes: CodeBook, seq: int | None = None) -> bytes:
    """The bytes ``row`` hashes to; ``seq`` overrides the row's own (to test where
    a moved row came from)."""
    (
        rseq,
        kind,
        at_ms,
        unit,
        party,
        cparty,
        site,
        lat,
        lon,
        container,
        device,
        dseq,
        anomaly,
        prev,
    ) = row[:14]
    return encode_values(
        rseq if seq is None else seq,
        kind,
        at_ms,
        unit,
        codes.parties[party],
        codes.parties[cparty],
        codes.sites[site],
        lat,
        lon,
        container or "",
        device,
        dseq,
        anomaly,
        bytes(prev).hex(),
        row[RETRACTS],
    )


def encode_rows(rows: Sequence[Row], codes: CodeBook) -> list[bytes]:
    """The bytes each of ``rows`` hashes to, equal to :func:`canonical_bytes` of each
    (a property test holds them to ``json.dumps`` with sorted keys), for a chunk at
    once: party and site codes are quoted once per chunk, and each row is one format
    of :mod:`ledger.canonical`'s template without a call per field.

    Raises ``KeyError`` for a party or site id the code book lacks, and ``TypeError``,
    ``ValueError``, ``AttributeError`` or ``OverflowError`` for a value that cannot
    be encoded (a unit key gone, a time no date holds); the caller then encodes row
    by row to name the entry."""
    parties = {k: _code(v) for k, v in codes.parties.items()}
    sites = {k: _code(v) for k, v in codes.sites.items()}
    template, declaration, second, code, quote = (
        _TEMPLATE, _RETRACTS_TEMPLATE, _format_second, _code, _s,
    )  # fmt: skip
    out: list[bytes] = []
    append = out.append
    for row in rows:
        (seq, kind, at_ms, unit, party, cparty, site, lat, lon, container, device, dseq,
         anomaly, prev) = row[:14]  # fmt: skip
        plain = unit.isprintable() and '"' not in unit and "\\" not in unit
        unit = f'"{unit}"' if plain else quote(unit)
        values = (
            code(anomaly),
            second(at_ms // 1000),
            at_ms % 1000,
            quote(container) if container else '""',
            parties[cparty],
            code(device),
            "null" if dseq is None else int(dseq),
            code(kind),
            "null" if lat is None else int(lat),
            "null" if lon is None else int(lon),
            parties[party],
            bytes(prev).hex(),
            seq,
            sites[site],
            unit,
        )
        retracts = row[RETRACTS]
        if retracts is None:
            append((template % values).encode())
        else:
            append((declaration % (*values[:12], int(retracts), *values[12:])).encode())
    return out
