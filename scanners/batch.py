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

Time window (:func:`scan_time_problem`, shared with the scan station and EPCIS
capture): an event before 2000-01-01T00:00:00Z or more than 30 days ahead of the
server clock is rejected with its reason; no device clock is that wrong in a
real scan, and the ledger's pages could not place it.

Clock skew: an event whose ``scanned_at`` is more than ``max_skew_ms`` (5 minutes)
but at most 30 days ahead of the server clock is still recorded (never drop a real observation) with
``at_ms`` as the device said, and its result carries the flag
``clock_skew:+<seconds>s``; the hop's ``note`` says so too (``device clock 1800 s
ahead``), and the ledger writes it into the entry's anomaly, signed with the entry.
Replacing the time with the server's would invent a
time nobody observed and could reorder the device's own events.

Conflicts: a ``device_seq`` the server already holds for *another* scan (a
device whose queue was recreated counts from 1 again) is answered ``conflict``
with ``next_device_seq``, and the response carries ``next_device_seq`` too (1 +
the highest device_seq the server holds for the device): the device renumbers its
unsent scans from there. An empty batch (``"events": []``) asks for it.

Every value the database or the canonical bytes cannot hold (huge exponents,
NaN, over-long codes, NUL and lone surrogates, times outside the years 2000 to
now + 30 days) is a rejection of that event naming the field and value; only a
body that is not a batch at all is a 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from sqlalchemy.orm import Session

from ledger.canonical import format_time
from ledger.hops import Hop, HopResult
from ledger.ids import OBSERVATION_KINDS, EntryKind
from ledger.models import ScanReceipt
from scanners.devices import authenticate_upload
from scanners.parse import parse

__all__ = [
    "DEFAULT_MAX_SKEW_MS",
    "EARLIEST_SCAN_MS",
    "KIND_ALIASES",
    "MAX_AHEAD_MS",
    "BatchFormatError",
    "PlannedHop",
    "Rejection",
    "ScanBatch",
    "ScanBatchResponse",
    "ScanEvent",
    "batch_results",
    "handle_scan_batch",
    "handle_station_scans",
    "next_device_seq",
    "parse_kind",
    "parse_rfc3339_ms",
    "parse_scan_batch",
    "scan_time_problem",
    "to_hops",
    "to_micro_degrees",
]

DEFAULT_MAX_SKEW_MS = 5 * 60 * 1000
MAX_EVENTS = 10_000
#: 2000-01-01T00:00:00Z: no scan recorded by hopchain is older.
EARLIEST_SCAN_MS = 946_684_800_000
#: 30 days: the furthest a scan may lie ahead of the server clock.
MAX_AHEAD_MS = 30 * 86_400_000
MAX_DEVICE_SEQ = 2**63 - 1  # BIGINT
_MAX_CODE = 64  # party codes and device ids (String(64) columns)
_MAX_SCANNED = 512  # a scanned string: GS1 element strings and Digital Link URIs are shorter
_MAX_TIME_TEXT = 64
_MAX_DEGREE_DIGITS = 30  # significant digits of a latitude or longitude

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
    """What ``POST /api/v1/scans`` answers: ``to_json()`` is the response body,
    ``{"device_id", "results": [...], "next_device_seq"}`` (the last only when known)."""

    device_id: str
    results: list[dict[str, Any]] = field(default_factory=list)
    next_device_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"device_id": self.device_id, "results": self.results}
        if self.next_device_seq is not None:
            body["next_device_seq"] = self.next_device_seq
        return body


# --- parsing ---------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_int(text: str) -> int | Decimal:
    # Python refuses integers of more than 4,300 digits (a ValueError for the whole
    # body); a long one stays a Decimal, and the field holding it refuses it.
    return int(text) if len(text) <= 40 else Decimal(text)


def _shown(value: object, limit: int = 40) -> str:
    """A value as a reason quotes it: repr, shortened to ``limit`` characters."""
    if isinstance(value, Decimal):  # a JSON number as it was written, near enough
        digits = len(value.as_tuple().digits)
        return f"a number of {digits} digits" if digits > limit else str(value)
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _is_text(value: str) -> bool:
    """Whether ``value`` can be stored as text: no NUL (PostgreSQL refuses it) and no
    lone surrogate (not encodable as UTF-8)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_scan_batch(body: bytes | str, *, now_ms: int | None = None) -> ScanBatch:
    """Validate a batch body. Broken structure raises :class:`BatchFormatError`;
    a bad event becomes a :class:`Rejection` naming the field and the problem.
    With ``now_ms`` (the server clock, ms since the epoch) an event outside the
    window of :func:`scan_time_problem` is rejected too.

    Never raises anything else, whatever the body (property-tested): every event
    of a valid body is either a :class:`ScanEvent` or a :class:`Rejection`.
    """
    try:
        doc = json.loads(
            body, parse_float=Decimal, parse_int=_parse_int, parse_constant=_reject_constant
        )
    except RecursionError as exc:
        raise BatchFormatError("body is not JSON this server reads: nested too deeply") from exc
    except ValueError as exc:  # UnicodeDecodeError included
        raise BatchFormatError(f"body is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BatchFormatError("body must be a JSON object")
    device_id = doc.get("device_id")
    if (
        not isinstance(device_id, str)
        or not 0 < len(device_id) <= _MAX_CODE
        or not device_id.isprintable()
    ):
        raise BatchFormatError(
            f"device_id must be a device id of 1 to {_MAX_CODE} printable characters, "
            f"got {_shown(device_id)}"
        )
    raw_events = doc.get("events")
    if not isinstance(raw_events, list):
        raise BatchFormatError("events must be a list")
    if len(raw_events) > MAX_EVENTS:
        raise BatchFormatError(f"at most {MAX_EVENTS} events per batch, got {len(raw_events)}")
    events: list[ScanEvent] = []
    rejections: list[Rejection] = []
    seen: set[int] = set()
    for index, raw in enumerate(raw_events):
        item = _parse_event(index, raw, now_ms)
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


def _parse_event(index: int, raw: object, now_ms: int | None) -> ScanEvent | Rejection:
    if not isinstance(raw, dict):
        return Rejection(index, None, f"event must be a JSON object, got {_shown(raw)}")
    seq = raw.get("device_seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_DEVICE_SEQ:
        return Rejection(
            index, None, f"device_seq must be an integer from 0 to 2**63 - 1, got {_shown(seq)}"
        )
    try:
        return _event_fields(index, seq, raw, now_ms)
    except _EventError as exc:
        return Rejection(index, seq, str(exc))


def _event_fields(index: int, seq: int, raw: dict[str, Any], now_ms: int | None) -> ScanEvent:
    scanned_at = raw.get("scanned_at")
    if not isinstance(scanned_at, str) or len(scanned_at) > _MAX_TIME_TEXT:
        raise _EventError(
            f"scanned_at must be an RFC 3339 date-time string, got {_shown(scanned_at)}"
        )
    try:
        at_ms = parse_rfc3339_ms(scanned_at)
    except ValueError as exc:
        raise _EventError(f"scanned_at: {exc}") from exc
    if now_ms is not None and (problem := scan_time_problem(at_ms, now_ms)) is not None:
        raise _EventError(f"scanned_at {_shown(scanned_at)} {problem}")
    kind_raw = raw.get("kind")
    if not isinstance(kind_raw, str):
        raise _EventError(f"kind must be a string, got {_shown(kind_raw)}")
    try:
        kind = parse_kind(kind_raw)
    except ValueError as exc:
        raise _EventError(str(exc)) from exc
    code = _scanned(raw, "code")
    if code is None:
        raise _EventError("code must be the scanned string, got nothing")
    scanned = parse(code)
    if scanned.error is not None:
        raise _EventError(f"code: {scanned.error}")
    if scanned.key is None:
        raise _EventError(
            f"code {_shown(code)} names a product ({scanned.gtin or 'no GTIN'}) but no unit: "
            "scan the serialized code (GTIN + serial) or an SSCC"
        )
    counterparty = _optional_code(raw, "counterparty")
    container: str | None = None
    box_text = _scanned(raw, "container")
    if box_text is not None:
        box = parse(box_text)
        if box.error is not None:
            raise _EventError(f"container: {box.error}")
        if box.sscc is None:
            raise _EventError(f"container {_shown(box_text)} is not an SSCC")
        container = box.key
    if kind is EntryKind.PACKING and container is None:
        raise _EventError("a packing scan needs the container it packs into")
    lat_e6 = lon_e6 = None
    lat, lon = raw.get("lat"), raw.get("lon")
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise _EventError("lat/lon: latitude and longitude must come together")
        for name, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
            try:
                e6 = to_micro_degrees(value, limit)
            except ValueError as exc:
                raise _EventError(f"{name}: {exc}") from exc
            if name == "lat":
                lat_e6 = e6
            else:
                lon_e6 = e6
    return ScanEvent(index, seq, at_ms, kind, scanned.key, counterparty, container, lat_e6, lon_e6)


def _scanned(raw: dict[str, Any], name: str) -> str | None:
    """A scanned string (``code``, ``container``): GS1 separators allowed, NUL and lone
    surrogates not; None when absent."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _EventError(f"{name} must be the scanned string, got {_shown(value)}")
    if not 0 < len(value) <= _MAX_SCANNED or not _is_text(value):
        raise _EventError(
            f"{name} must be a scanned string of 1 to {_MAX_SCANNED} characters without "
            f"NUL or lone surrogates, got {_shown(value)}"
        )
    return value


def _optional_code(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_CODE or not value.isprintable():
        raise _EventError(
            f"{name} must be a party code of 1 to {_MAX_CODE} printable characters, "
            f"got {_shown(value)}"
        )
    return value


def parse_kind(value: str) -> EntryKind:
    """An :class:`EntryKind` from its value (``shipping``) or short name (``ship``).

    Raises :class:`ValueError` naming the value and the kinds there are."""
    key = value.strip().lower()
    if key in KIND_ALIASES:
        return KIND_ALIASES[key]
    kind = next((k for k in OBSERVATION_KINDS if k.value == key), None)
    if kind is not None:
        return kind
    names = sorted({*KIND_ALIASES, *(k.value for k in OBSERVATION_KINDS)})
    raise ValueError(f"unknown kind {_shown(value)}; expected one of {', '.join(names)}")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$",
    re.ASCII,
)


def parse_rfc3339_ms(value: str) -> int:
    """Milliseconds since the epoch (UTC) of an RFC 3339 date-time with an offset;
    sub-millisecond digits are dropped.

    Any year from 0001 to 9999 and any offset up to ±23:59 is read without
    overflow (the result may then lie before year 1 or after 9999: the window of
    :func:`scan_time_problem` decides what a scan may be). Raises
    :class:`ValueError` naming the value for anything else.
    """
    m = _RFC3339.match(value.strip())
    if m is None:
        raise ValueError(
            f"{_shown(value)} is not an RFC 3339 date-time such as 2026-03-01T08:15:02.250+01:00"
        )
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a valid date-time: no such date") from None
    hh, mm, ss = int(hour), int(minute), int(second)
    if hh > 23 or mm > 59 or ss > 59:  # RFC 3339 leap seconds (:60) are not recorded
        raise ValueError(f"{_shown(value)} is not a valid date-time: no such time of day")
    shift = 0
    if offset not in ("Z", "z"):
        oh, om = int(offset[1:3]), int(offset[4:6])
        if oh > 23 or om > 59:
            raise ValueError(f"{_shown(value)} is not a valid date-time: offset {offset}")
        shift = (oh * 60 + om) * 60 * (1 if offset[0] == "+" else -1)
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    return ((days * 86_400 + hh * 3600 + mm * 60 + ss) - shift) * 1000 + millis


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def scan_time_problem(at_ms: int, now_ms: int) -> str | None:
    """Why a scan made at ``at_ms`` cannot be recorded now (``now_ms``, the server
    clock; both ms since the epoch, UTC), or None when it can.

    The window: from :data:`EARLIEST_SCAN_MS` (2000-01-01T00:00:00Z) to
    :data:`MAX_AHEAD_MS` (30 days) ahead of the server clock. One rule for every
    intake: handheld batches, the scan station and EPCIS capture (``eventTime``).
    A device clock ahead by 5 minutes to 30 days is still recorded, flagged
    (``clock_skew``); see :func:`to_hops`.
    """
    if at_ms < EARLIEST_SCAN_MS:
        return "is before 2000-01-01T00:00:00Z, the earliest scan time recorded"
    if at_ms - now_ms > MAX_AHEAD_MS:
        return (
            f"is more than 30 days ahead of the server clock ({format_time(now_ms)}); "
            "set the device's clock"
        )
    return None


def to_micro_degrees(value: object, limit: int) -> int:
    """Exact integer micro-degrees from a JSON number or decimal string.

    Decimals are used throughout, so ``"48.8566"`` is exactly 48856600; digits
    beyond the sixth decimal are rounded half to even. Raises :class:`ValueError`
    naming the value when it is not a finite number of at most 30 significant
    digits within ``-limit..limit`` degrees (exponents such as ``1e999999999``
    included, read without overflow).
    """
    if value is None:
        raise ValueError("latitude and longitude must come together")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str | float):
        raise ValueError(f"{_shown(value)} is not a number of degrees")
    if isinstance(value, str) and len(value) > 2 * _MAX_DEGREE_DIGITS:
        raise ValueError(f"{_shown(value)} is not a number of degrees (too long)")
    try:
        degrees = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{_shown(value)} is not a number of degrees") from None
    if not degrees.is_finite():
        raise ValueError(f"{_shown(value)} is not a finite number of degrees")
    if degrees.is_zero():
        return 0
    if degrees.adjusted() > 3:  # |degrees| >= 10000, whatever the exponent
        raise ValueError(f"{_shown(value)} is outside -{limit}..{limit} degrees")
    if degrees.adjusted() < -8:  # below 1e-8 degrees: rounds to 0 micro-degrees
        return 0
    if len(degrees.as_tuple().digits) > _MAX_DEGREE_DIGITS:
        raise ValueError(f"{_shown(value)} has more than {_MAX_DEGREE_DIGITS} significant digits")
    with localcontext() as ctx:
        ctx.prec = 2 * _MAX_DEGREE_DIGITS  # every product below is exact
        if abs(degrees) > limit:
            raise ValueError(f"{_shown(value)} is outside -{limit}..{limit} degrees")
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
    planned: Sequence[PlannedHop | Rejection],
    hop_results: Sequence[HopResult],
    next_seq: int | None = None,
) -> list[dict[str, Any]]:
    """One JSON result per event in body order; ``hop_results`` answer the planned
    hops in the order :func:`to_hops` listed them. A ``conflict`` carries no seqs
    and, when ``next_seq`` is known, ``next_device_seq``: the number the device
    should renumber its unsent scans from."""
    hops = [p for p in planned if isinstance(p, PlannedHop)]
    if len(hops) != len(hop_results):
        raise ValueError(f"{len(hops)} hops but {len(hop_results)} results")
    rows: list[tuple[int, dict[str, Any]]] = []
    for p, r in zip(hops, hop_results, strict=True):
        row: dict[str, Any] = {"device_seq": p.hop.device_seq, "status": r.status}
        if r.status == "accepted" or r.status == "duplicate":
            row["seqs"] = list(r.seqs)
        elif r.status == "conflict" and next_seq is not None:
            row["next_device_seq"] = next_seq
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

    The answer carries ``next_device_seq`` (:func:`next_device_seq`, read after the
    append), which an empty batch (``"events": []``) asks for alone.

    Raises :class:`BatchFormatError` (400) or
    :class:`~scanners.devices.DeviceAuthError` (401) before anything is stored.
    """
    batch = parse_scan_batch(body, now_ms=now_ms)
    device = authenticate_upload(session, batch.device_id, body, signature_b64)
    planned = to_hops(
        batch, device.party, device.site, now_ms, max_skew_ms=max_skew_ms,
        restricted=device.restricted,
    )  # fmt: skip
    hops = [p.hop for p in planned if isinstance(p, PlannedHop)]
    results = append(hops) if hops else []
    next_seq = next_device_seq(session, batch.device_id)
    return ScanBatchResponse(batch.device_id, batch_results(planned, results, next_seq), next_seq)


def next_device_seq(session: Session, device_id: str) -> int:
    """1 + the highest ``device_seq`` the ledger holds a receipt for from
    ``device_id`` (1 when it holds none): where a device whose counter went back
    (a recreated queue) resumes numbering. One indexed query (the receipts'
    primary key is (device, device_seq)), in plain SQL as it runs for every upload;
    it reads committed data, so call it after the append."""
    conn = session.connection()
    ph = "?" if conn.dialect.name == "sqlite" else "%s"
    highest = conn.exec_driver_sql(
        f"SELECT MAX(device_seq) FROM {ScanReceipt.__tablename__} WHERE device = {ph}",
        (device_id,),
    ).scalar()
    return 1 if highest is None else int(highest) + 1


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
    batch = parse_scan_batch(
        json.dumps({"device_id": device_id, "events": list(events)}), now_ms=now_ms
    )
    planned = to_hops(batch, party_code, site_code, now_ms, restricted=restricted)
    hops = [p.hop for p in planned if isinstance(p, PlannedHop)]
    results = append(hops) if hops else []
    return ScanBatchResponse(batch.device_id, batch_results(planned, results))
