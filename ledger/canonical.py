"""Canonical bytes of a ledger entry: the exact input to its leaf hash.

UTF-8 JSON, keys sorted, no whitespace, integers only, timestamps RFC 3339 UTC
with millisecond precision and ``Z``, ``prev`` the hex leaf hash of the same
unit's previous entry ("" for its first). ``seq`` is included so an entry cannot
be moved to another position in the log without its leaf hash changing.

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

__all__ = ["EntryFields", "encode_entry", "format_time", "parse_time"]

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

    def as_json_object(self) -> dict[str, Any]:
        return {
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


def _n(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def encode_entry(f: EntryFields) -> bytes:
    return (
        f'{{"anomaly":{_s(f.anomaly)},"at":"{format_time(f.at_ms)}",'
        f'"container":{_s(f.container)},"counterparty":{_s(f.counterparty)},'
        f'"device":{_s(f.device)},"dseq":{_n(f.device_seq)},"kind":{_s(f.kind)},'
        f'"lat":{_n(f.lat_e6)},"lon":{_n(f.lon_e6)},"party":{_s(f.party)},'
        f'"prev":"{f.prev}","seq":{int(f.seq)},"site":{_s(f.site)},"unit":{_s(f.unit)}}}'
    ).encode()
