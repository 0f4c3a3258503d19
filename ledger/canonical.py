"""Canonical bytes of a ledger entry: the exact input to its leaf hash.

UTF-8 JSON, keys sorted, no whitespace, integers only, timestamps RFC 3339 UTC
with millisecond precision and ``Z``, ``prev`` the hex leaf hash of the same
unit's previous entry ("" for its first). ``seq`` is included so an entry cannot
be moved to another position in the log without its leaf hash changing.
An error declaration (kind ``error_declaration``, EPCIS 2.0 errorDeclaration)
also has ``retracts``, the seq of the entry it retracts; no other entry has the
key, so the bytes of every observation are what they always were.

The result must equal ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
ensure_ascii=False).encode()``; :func:`encode_entry` builds it with one format
string instead, because verification re-encodes every entry and json.dumps with
sorted keys is several times slower. A property test holds the two together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

__all__ = ["EntryFields", "encode_entry", "encode_values", "format_time", "parse_time"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EntryFields:
    """The values an entry's canonical bytes are made of (codes and keys, not row ids)."""

    seq: int
    kind: str
    at_ms: int
    unit: str
    party: str
    counterparty: str
    site: str
    lat_e6: int | None
    lon_e6: int | None
    container: str
    device: str
    device_seq: int | None
    anomaly: str
    prev: str  # hex
    retracts: int | None = None  # error declarations only: the seq retracted

    def as_json_object(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "anomaly": self.anomaly,
            "at": format_time(self.at_ms),
            "container": self.container,
            "counterparty": self.counterparty,
            "device": self.device,
            "dseq": self.device_seq,
            "kind": self.kind,
            "lat": self.lat_e6,
            "lon": self.lon_e6,
            "party": self.party,
            "prev": self.prev,
            "seq": self.seq,
            "site": self.site,
            "unit": self.unit,
        }
        if self.retracts is not None:
            doc["retracts"] = self.retracts
        return dict(sorted(doc.items()))


def format_time(at_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-10-01T08:30:00.000Z``."""
    return f"{_format_second(at_ms // 1000)}.{at_ms % 1000:03d}Z"


@lru_cache(maxsize=1 << 16)
def _format_second(second: int) -> str:
    # Scans of a batch share their seconds, so formatting each second once pays.
    return f"{_EPOCH + timedelta(seconds=second):%Y-%m-%dT%H:%M:%S}"


def parse_time(text: str) -> int:
    """Milliseconds since the epoch for an RFC 3339 timestamp with an offset or ``Z``."""
    moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _s(value: str) -> str:
    # json.dumps escapes only '"', '\\' and C0 controls when ensure_ascii is off;
    # printable strings without quotes or backslashes need no escaping at all.
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


# Codes (kinds, parties, sites, devices, anomaly texts) repeat across millions of
# entries; unit keys do not, so they skip the cache.
_code = lru_cache(maxsize=1 << 14)(_s)

_TEMPLATE = (
    '{"anomaly":%s,"at":"%s.%03dZ","container":%s,"counterparty":%s,"device":%s,'
    '"dseq":%s,"kind":%s,"lat":%s,"lon":%s,"party":%s,"prev":"%s","seq":%d,"site":%s,"unit":%s}'
)
# An error declaration: "retracts" sorts between "prev" and "seq".
_RETRACTS_TEMPLATE = _TEMPLATE.replace('"prev":"%s",', '"prev":"%s","retracts":%d,')


def encode_values(
    seq: int,
    kind: str,
    at_ms: int,
    unit: str,
    party: str,
    counterparty: str,
    site: str,
    lat_e6: int | None,
    lon_e6: int | None,
    container: str,
    device: str,
    device_seq: int | None,
    anomaly: str,
    prev: str,
    retracts: int | None = None,
) -> bytes:
    """Canonical bytes from plain values: the one encoder appends and verification share.

    ``retracts`` (error declarations only) is the seq of the retracted entry."""
    values = (
        _code(anomaly),
        _format_second(at_ms // 1000),
        at_ms % 1000,
        _s(container) if container else '""',
        _code(counterparty),
        _code(device),
        "null" if device_seq is None else int(device_seq),
        _code(kind),
        "null" if lat_e6 is None else int(lat_e6),
        "null" if lon_e6 is None else int(lon_e6),
        _code(party),
        prev,
        seq,
        _code(site),
        _s(unit),
    )
    if retracts is None:
        return (_TEMPLATE % values).encode()
    # an error declaration: "retracts" stands between "prev" and "seq"
    return (_RETRACTS_TEMPLATE % (*values[:12], int(retracts), *values[12:])).encode()


def encode_entry(f: EntryFields) -> bytes:
    return encode_values(
        f.seq,
        f.kind,
        f.at_ms,
        f.unit,
        f.party,
        f.counterparty,
        f.site,
        f.lat_e6,
        f.lon_e6,
        f.container,
        f.device,
        f.device_seq,
        f.anomaly,
        f.prev,
        f.retracts,
    )
