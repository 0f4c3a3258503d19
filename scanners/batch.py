"""The handheld batch protocol: ``POST /api/v1/scans`` from body to results.

Body::

    {"device_id": "HH-0042",
     "events": [{"device_seq": 17, "scanned_at": "2026-03-01T08:15:02.250+01:00",
                 "kind": "ship", "code": "]d20109506000134352\\u001d21A1B2",
                 "counterparty": "DIST-FR-01", "lat": "48.8566", "lon": 2.3522}, ...]}

Order of checks (what :func:`handle_scan_batch` does for the web handler):

1. :func:`parse_scan_batch`: a body that is not a JSON object with ``device_id``
   and an ``events`` list raises :class:`BatchFormatError` (HTTP 400). Anything
   wrong inside one event only rejects that event.
2. The device is looked up and the signature over the raw body verified
   (:class:`~scanners.devices.DeviceAuthError`, HTTP 401) before anything is stored.
3. :func:`to_hops` turns valid events into ledger hops, ordered by ``device_seq``
   so an upload after days offline keeps the device's order.
4. The caller's ledger append takes all hops at once (the valid events of a batch
   commit together) and returns a result per hop.
5. :func:`batch_results` answers one result per event, in body order.

Clock skew: an event whose ``scanned_at`` is more than ``max_skew_ms`` (5 minutes)
ahead of the server clock is still recorded (never drop a real observation) with
``at_ms`` as the device said, and its result carries the flag
``clock_skew:+<seconds>s``; the hop's ``note`` says so too (``device clock 1800 s
ahead``), and the ledger writes it into the entry's anomaly, signed with the entry.
Replacing the time with the server's would invent a
time nobody observed and could reorder the device's own events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind
from scanners.devices import authenticate_upload
from scanners.parse import parse

__all__ = [
    "DEFAULT_MAX_SKEW_MS",
    "KIND_ALIASES",
    "BatchFormatError",
    "PlannedHop",
    "Rejection",
    "ScanBatch",
    "ScanBatchResponse",
    "ScanEvent",
    "batch_results",
    "handle_scan_batch",
    "handle_station_scans",
    "parse_kind",
    "parse_rfc3339_ms",
    "parse_scan_batch",
    "to_hops",
    "to_micro_degrees",
]

DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000
MAX_EVENTS = 10_000

#: Short names a handheld may send for the entry kinds (EntryKind values work too).
KIND_ALIASES = {
    "commission": EntryKind.COMMISSIONING,
    "pack": EntryKind.PACKING,
    "unpack": EntryKind.UNPACKING,
    "ship": EntryKind.SHIPPING,
    "receive": EntryKind.RECEIVING,
    "sell": EntryKind.RETAIL_SELLING,
    "inspect": EntryKind.INSPECTING,
    "return": EntryKind.RETURNING,
    "decommission": EntryKind.DECOMMISSIONING,
}


class BatchFormatError(ValueError):
    """The body as a whole is not a scan batch (HTTP 400); nothing was stored."""


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One valid event of a batch; ``index`` is its position in the body."""

    index: int
    device_seq: int
    at_ms: int
    kind: EntryKind
    unit: str  # canonical key of the scanned code
    counterparty: str | None = None
    container: str | None = None  # canonical SSCC key (packing)
    lat_e6: int | None = None
    lon_e6: int | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event refused for a reason of its own; the rest of the batch goes on."""

    index: int
    device_seq: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ScanBatch:
    device_id: str
    events: tuple[ScanEvent, ...]
    rejections: tuple[Rejection, ...]


@dataclass(frozen=True, slots=True)
class PlannedHop:
    """A hop to append, with the event it came from and flags such as clock skew."""

    hop: Hop
    index: int
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanBatchResponse:
    """What ``POST /api/v1/scans`` answers: ``to_json()`` is the response body."""

    device_id: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "results": self.results}


# --- parsing ---------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_scan_batch(body: bytes | str) -> ScanBatch:
    """Validate a batch body. Broken structure raises :class:`BatchFormatError`;
    a bad event becomes a :class:`Rejection` naming the field and the problem."""
    try:
        doc = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BatchFormatError(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BatchFormatError("body must be a JSON object")
    device_id = doc.get("device_id")
    if not isinstance(device_id, str) or not device_id:
        raise BatchFormatError("device_id must be a non-empty string")
    raw_events = doc.get("events")
    if not isinstance(raw_events, list):
        raise BatchFormatError("events must be a list")
    if len(raw_events) > MAX_EVENTS:
        raise BatchFormatError(f"at most {MAX_EVENTS} events per batch, got {len(raw_events)}")
    events: list[ScanEvent] = []
    rejections: list[Rejection] = []
    seen: set[int] = set()
    for index, raw in enumerate(raw_events):
        item = _parse_event(index, raw)
        if isinstance(item, Rejection):
            rejections.append(item)
        elif item.device_seq in seen:
            reason = f"device_seq {item.device_seq} repeats in this batch"
            rejections.append(Rejection(index, item.device_seq, reason))
        else:
            seen.add(item.device_seq)
            events.append(item)
    return ScanBatch(device_id, tuple(events), tuple(rejections))


class _EventError(ValueError):
    pass


def _parse_event(index: int, raw: object) -> ScanEvent | Rejection:
    if not isinstance(raw, dict):
        return Rejection(index, None, "event must be a JSON object")
    seq = raw.get("device_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        return Rejection(index, None, "device_seq must be an integer from 0 to 2**63 - 1")
    try:
        return _event_fields(index, seq, raw)
    except _EventError as exc:
        return Rejection(index, seq, str(exc))


def _event_fields(index: int, seq: int, raw: dict[str, Any]) -> ScanEvent:
    scanned_at = raw.get("scanned_at")
    if not isinstance(scanned_at, str):
        raise _EventError("scanned_at must be an RFC 3339 date-time string")
    try:
        at_ms = parse_rfc3339_ms(scanned_at)
    except ValueError as exc:
        raise _EventError(f"scanned_at: {exc}") from exc
    kind_raw = raw.get("kind")
    if not isinstance(kind_raw, str):
        raise _EventError("kind must be a string")
    try:
        kind = parse_kind(kind_raw)
    except ValueError as exc:
        raise _EventError(str(exc)) from exc
    code = raw.get("code")
    if not isinstance(code, str):
        raise _EventError("code must be the scanned string")
    scanned = parse(code)
    if scanned.error is not None:
        raise _EventError(f"code: {scanned.error}")
    if scanned.key is None:
        raise _EventError(
            f"code {code!r} names a product ({scanned.gtin or 'no GTIN'}) but no unit: "
            "scan the serialized code (GTIN + serial) or an SSCC"
        )
    counterparty = _optional_code(raw, "counterparty")
    container: str | None = None
    if raw.get("container") is not None:
        if not isinstance(raw["container"], str):
            raise _EventError("container must be the scanned SSCC string")
        box = parse(raw["container"])
        if box.error is not None:
            raise _EventError(f"container: {box.error}")
        if box.sscc is None:
            raise _EventError(f"container {raw['container']!r} is not an SSCC")
        container = box.key
    if kind is EntryKind.PACKING and container is None:
        raise _EventError("a packing scan needs the container it packs into")
    lat_e6 = lon_e6 = None
    if raw.get("lat") is not None or raw.get("lon") is not None:
        try:
            lat_e6 = to_micro_degrees(raw.get("lat"), 90)
            lon_e6 = to_micro_degrees(raw.get("lon"), 180)
        except ValueError as exc:
            raise _EventError(f"lat/lon: {exc}") from exc
    return ScanEvent(index, seq, at_ms, kind, scanned.key, counterparty, container, lat_e6, lon_e6)


def _optional_code(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        raise _EventError(f"{name} must be a party code of 1 to 64 characters")
    return value


def parse_kind(value: str) -> EntryKind:
    """An :class:`EntryKind` from its value (``shipping``) or short name (``ship``)."""
    key = value.strip().lower()
    if key in KIND_ALIASES:
        return KIND_ALIASES[key]
    try:
        return EntryKind(key)
    except ValueError:
        names = sorted({*KIND_ALIASES, *(k.value for k in EntryKind)})
        raise ValueError(f"unknown kind {value!r}; expected one of {', '.join(names)}") from None


_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rfc3339_ms(value: str) -> int:
    """Milliseconds since the epoch (UTC) of an RFC 3339 date-time with an offset;
    sub-millisecond digits are dropped."""
    m = _RFC3339.match(value.strip())
    if m is None:
        raise ValueError(
            f"{value!r} is not an RFC 3339 date-time such as 2026-03-01T08:15:02.250+01:00"
        )
    date, clock, fraction, offset = m.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}{offset}")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date-time: {exc}") from exc
    delta = moment - _EPOCH
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    return (delta.days * 86_400 + delta.seconds) * 1000 + millis


def to_micro_degrees(value: object, limit: int) -> int:
    """Exact integer micro-degrees from a JSON number or decimal string.

    Decimals are used throughout, so ``"48.8566"`` is exactly 48856600; digits
    beyond the sixth decimal are rounded half to even.
    """
    if value is None:
        raise ValueError("latitude and longitude must come together")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str | float):
        raise ValueError(f"{value!r} is not a number of degrees")
    try:
        degrees = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number of degrees") from exc
    if not degrees.is_finite() or abs(degrees) > limit:
        raise ValueError(f"{value} is outside -{limit}..{limit} degrees")
    return int((degrees * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# --- to hops and results -----------------------------------------------------------


def to_hops(
    batch: ScanBatch,
    party_code: str,
    site_code: str | None,
    now_ms: int,
    *,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    restricted: bool = False,
) -> list[PlannedHop | Rejection]:
    """Hops for the valid events ordered by ``device_seq``, then the rejections.

    Every hop carries the device id and ``device_seq`` (the ledger's idempotency
    key), the device's own time, and the device's party and site; a hop whose time
    is more than ``max_skew_ms`` ahead of ``now_ms`` carries a ``note`` saying so.
    ``restricted``: the party acts only within its custody (``Hop.restricted``).
    """
    planned: list[PlannedHop | Rejection] = []
    for ev in sorted(batch.events, key=lambda e: e.device_seq):
        flags: tuple[str, ...] = ()
        note = ""
        ahead = ev.at_ms - now_ms
        if ahead > max_skew_ms:
            flags = (f"clock_skew:+{ahead // 1000}s",)
            note = f"device clock {ahead // 1000} s ahead"
        hop = Hop(
            unit=ev.unit,
            kind=ev.kind,
            party=party_code,
            at_ms=ev.at_ms,
            counterparty=ev.counterparty,
            site=site_code,
            lat_e6=ev.lat_e6,
            lon_e6=ev.lon_e6,
            container=ev.container,
            device=batch.device_id,
            device_seq=ev.device_seq,
            note=note,
            restricted=restricted,
        )
        planned.append(PlannedHop(hop, ev.index, flags))
    planned.extend(batch.rejections)
    return planned


def batch_results(
    planned: Sequence[PlannedHop | Rejection], hop_results: Sequence[HopResult]
) -> list[dict[str, Any]]:
    """One JSON result per event in body order; ``hop_results`` answer the planned
    hops in the order :func:`to_hops` listed them."""
    hops = [p for p in planned if isinstance(p, PlannedHop)]
    if len(hops) != len(hop_results):
        raise ValueError(f"{len(hops)} hops but {len(hop_results)} results")
    rows: list[tuple[int, dict[str, Any]]] = []
    for p, r in zip(hops, hop_results, strict=True):
        row: dict[str, Any] = {"device_seq": p.hop.device_seq, "status": r.status}
        if r.status != "rejected":
            row["seqs"] = list(r.seqs)
        if r.reason:
            row["reason"] = r.reason
        if r.anomaly:
            row["anomaly"] = r.anomaly
        if p.flags:
            row["flags"] = list(p.flags)
        rows.append((p.index, row))
    for item in planned:
        if isinstance(item, Rejection):
            rejected = {"device_seq": item.device_seq, "status": "rejected", "reason": item.reason}
            rows.append((item.index, rejected))
    return [row for _, row in sorted(rows, key=lambda t: t[0])]


def handle_scan_batch(
    session: Session,
    body: bytes,
    signature_b64: str | None,
    append: Callable[[list[Hop]], Sequence[HopResult]],
    *,
    now_ms: int,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
) -> ScanBatchResponse:
    """The whole of ``POST /api/v1/scans`` except HTTP: parse, authenticate,
    plan, append (``append`` is the ledger's batch append), answer.

    Raises :class:`BatchFormatError` (400) or
    :class:`~scanners.devices.DeviceAuthError` (401) before anything is stored.
    """
    batch = parse_scan_batch(body)
    device = authenticate_upload(session, batch.device_id, body, signature_b64)
    planned = to_hops(
        batch, device.party, device.site, now_ms, max_skew_ms=max_skew_ms,
        restricted=device.restricted,
    )  # fmt: skip
    hops = [p.hop for p in planned if isinstance(p, PlannedHop)]
    results = append(hops) if hops else []
    return ScanBatchResponse(batch.device_id, batch_results(planned, results))


def handle_station_scans(
    device_id: str,
    events: Sequence[Mapping[str, Any]],
    party_code: str,
    append: Callable[[list[Hop]], Sequence[HopResult]],
    *,
    now_ms: int,
    site_code: str | None = None,
    restricted: bool = False,
) -> ScanBatchResponse:
    """Scans made at a scan station page by a signed-in person: the same event
    checks, hops and results as a handheld batch, without a device signature (the
    person's session authenticates them). ``events`` are batch events
    (``device_seq``, ``scanned_at``, ``kind``, ``code``, ...); ``device_id`` is the
    station's own (``station:<username>``), so a resubmitted form is a duplicate.
    ``restricted``: the party acts only within its custody (``Hop.restricted``).

    Raises :class:`BatchFormatError` when ``device_id`` or ``events`` are unusable.
    """
    batch = parse_scan_batch(json.dumps({"device_id": device_id, "events": list(events)}))
    planned = to_hops(batch, party_code, site_code, now_ms, restricted=restricted)
    hops = [p.hop for p in planned if isinstance(p, PlannedHop)]
    results = append(hops) if hops else []
    return ScanBatchResponse(batch.device_id, batch_results(planned, results))
