"""Scans made by a person at a scan station: repeats and commissioning from label sheets.

Two rules on top of the handheld batch protocol (:mod:`scanners.batch`), for a
person scanning at a desk rather than a device replaying its queue (a replay is
already idempotent through ``device_seq``):

- **A repeat is no new observation.** When the unit's last live entry (no error
  declaration, not retracted) is the same step by the same party (shipping and
  returning: to the same counter-party; packing: into the same container), the
  scan is answered ``duplicate`` with ``repeat`` = ``{"seq", "at_ms"}`` of that
  entry and nothing is appended, instead of a second entry with an anomaly. The
  same holds for a code found twice in one submission. (GS1 CBV 2.0: a business
  step observed once is one event; scanning the received case twice is one
  receiving.)
- **Commissioning is the manufacturer's.** Only a party of kind ``manufacturer``
  commissions (:mod:`ledger.permissions` refuses it to channel partners anyway;
  the station says so before appending). A commissioned code must be a trade item
  (``01/{gtin}/21/{serial}``, not a case or pallet); when product master data
  exists its GTIN must be a known product; and when serials of that GTIN are
  allocated from ``serial_blocks`` (:func:`scanners.serials.allocate_serials`,
  ``hopchain labels --count``), the serial must be one of those handed out
  (``1`` … ``next_serial - 1``, written without leading zeros), so that a freshly
  printed sheet commissions and a mistyped or forged serial does not. GTINs with no
  serial block (serials printed from a list of one's own) are not checked for
  allocation.

Entry point: :func:`record_station_scans` (same arguments as
:func:`scanners.batch.handle_station_scans`, plus the session and the known GTINs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, aliased

from ledger.canonical import format_time
from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind
from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from scanners.batch import PlannedHop, ScanBatchResponse, batch_results, parse_scan_batch, to_hops
from scanners.serials import SerialBlock

__all__ = [
    "COMMISSIONING_PARTY_KINDS",
    "ChooseHops",
    "CommissionRefusal",
    "LastEntry",
    "commission_refusals",
    "is_repeat",
    "last_live_entries",
    "may_commission",
    "record_station_scans",
]

#: ``parties.kind`` values that commission units (print and apply the labels).
COMMISSIONING_PARTY_KINDS = frozenset({"manufacturer"})
_WITH_COUNTERPARTY = frozenset({EntryKind.SHIPPING.value, EntryKind.RETURNING.value})
_CHUNK = 500  # keys per IN (...) query

#: What :func:`record_station_scans` hands its ``append``: called with the ledger
#: lock held (:func:`ledger.append.append_chosen_hops`), it reads the units' last
#: entries on that connection and returns the hops to append.
ChooseHops = Callable[[Connection], Sequence[Hop]]


@dataclass(frozen=True, slots=True)
class LastEntry:
    """The last live entry of one unit: what a repeat is compared with."""

    seq: int
    kind: str  # EntryKind value
    at_ms: int
    party: str
    counterparty: str | None
    container: str | None  # canonical key of the container (packing)


@dataclass(frozen=True, slots=True)
class CommissionRefusal:
    """Why one code may not be commissioned here; ``why`` is one of
    ``party`` (the acting party is not a manufacturer), ``not_a_unit`` (a case or
    pallet code), ``unknown_product`` (GTIN not in product master data) and
    ``not_allocated`` (serial never handed out from the GTIN's serial block;
    ``allocated`` is how many were: serials ``1`` … ``allocated``)."""

    why: Literal["party", "not_a_unit", "unknown_product", "not_allocated"]
    key: str
    gtin: str = ""
    serial: str = ""
    party: str = ""
    allocated: int = 0

    @property
    def reason(self) -> str:
        """The refusal in English words (the API's and CLI's language)."""
        if self.why == "party":
            return (
                f"commissioning of {self.key} by {self.party} refused: only the "
                "manufacturer commissions units"
            )
        if self.why == "not_a_unit":
            return (
                f"commissioning of {self.key} refused: a case or pallet code is not "
                "commissioned; scan the units' labels"
            )
        if self.why == "unknown_product":
            return f"commissioning of {self.key} refused: GTIN {self.gtin} is not a known product"
        return (
            f"commissioning of {self.key} refused: serial {self.serial} of GTIN {self.gtin} "
            f"was never allocated (serials 1 to {self.allocated} were)"
        )


def may_commission(party_kind: str | None) -> bool:
    """Whether a party of kind ``party_kind`` (``parties.kind``) commissions units."""
    return party_kind in COMMISSIONING_PARTY_KINDS


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def last_live_entries(session: Session | Connection, keys: Collection[str]) -> dict[str, LastEntry]:
    """The last live entry of each unit in ``keys`` (canonical keys) that has one,
    read on ``session`` (an ORM session or a connection, such as the one an append
    holds the ledger lock on).

    Live: an observation, not an error declaration, that no declaration retracts
    (:func:`ledger.retraction.live_entries`). One query per 500 keys.
    """
    out: dict[str, LastEntry] = {}
    wanted = sorted(set(keys))
    if not wanted:
        return out
    later = aliased(Entry)
    counter = aliased(Party)
    box = aliased(Unit)
    last_seq = (
        select(func.max(later.seq))
        .where(later.unit_id == Entry.unit_id, live_entries(later, declarations(session)))
        .correlate(Entry)
        .scalar_subquery()
    )
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(Unit.key, Entry.seq, Entry.kind, Entry.at_ms, Party.code, counter.code, box.key)
            .join(Entry, Entry.unit_id == Unit.id)
            .join(Party, Party.id == Entry.party_id)
            .outerjoin(counter, counter.id == Entry.counterparty_id)
            .outerjoin(box, box.id == Entry.container_id)
            .where(Unit.key.in_(chunk), Entry.seq == last_seq)
        )
        for key, seq, kind, at_ms, party, counterparty, container in rows:
            out[str(key)] = LastEntry(
                int(seq), str(kind), int(at_ms), str(party), counterparty, container
            )
    return out


def is_repeat(hop: Hop, last: LastEntry | None) -> bool:
    """Whether ``hop`` records again what ``last`` (the unit's last live entry) says:
    the same step by the same party; for shipping and returning to the same
    counter-party, for packing into the same container."""
    if last is None:
        return False
    kind = hop.kind.value if isinstance(hop.kind, EntryKind) else str(hop.kind)
    if last.kind != kind or last.party != hop.party:
        return False
    if kind in _WITH_COUNTERPARTY and last.counterparty != hop.counterparty:
        return False
    return not (kind == EntryKind.PACKING.value and last.container != hop.container)


def commission_refusals(
    session: Session,
    hops: Sequence[Hop],
    known_gtins: Collection[str] | None,
    party_kind: str | None,
) -> dict[int, CommissionRefusal]:
    """Refusals of the commissioning hops among ``hops``, by position in ``hops``.

    ``known_gtins``: the GTIN-14s of product master data (at least those of the
    hops), or None when there is no product master data, which skips that check.
    ``party_kind``: the acting party's ``parties.kind``. The serial blocks of the
    GTINs named are read in one query.
    """
    commissioning = [(i, h) for i, h in enumerate(hops) if h.kind is EntryKind.COMMISSIONING]
    if not commissioning:
        return {}
    refusals: dict[int, CommissionRefusal] = {}
    if not may_commission(party_kind):
        party = commissioning[0][1].party
        return {i: CommissionRefusal("party", h.unit, party=party) for i, h in commissioning}
    scopes = sorted({"/".join(h.unit.split("/")[:2]) for _, h in commissioning})
    query = select(SerialBlock.scope, SerialBlock.next_serial).where(SerialBlock.scope.in_(scopes))
    blocks = {str(scope): int(next_serial) for scope, next_serial in session.execute(query)}
    known = set(known_gtins or ())
    for i, hop in commissioning:
        parts = hop.unit.split("/")
        if len(parts) != 4 or parts[0] != "01":
            refusals[i] = CommissionRefusal("not_a_unit", hop.unit)
            continue
        gtin, serial = parts[1], parts[3]
        if known_gtins is not None and gtin not in known:
            refusals[i] = CommissionRefusal("unknown_product", hop.unit, gtin, serial)
            continue
        next_serial = blocks.get(f"01/{gtin}")
        if next_serial is None:
            continue
        allocated = int(next_serial) - 1
        number = int(serial) if serial.isascii() and serial.isdigit() else 0
        if not (str(number) == serial and 1 <= number <= allocated):
            refusals[i] = CommissionRefusal(
                "not_allocated", hop.unit, gtin, serial, allocated=allocated
            )
    return refusals


def record_station_scans(
    session: Session,
    device_id: str,
    events: Sequence[Mapping[str, Any]],
    party_code: str,
    append: Callable[[ChooseHops], Sequence[HopResult]],
    *,
    now_ms: int,
    party_kind: str | None,
    known_gtins: Collection[str] | None = None,
    site_code: str | None = None,
    restricted: bool = False,
) -> ScanBatchResponse:
    """Scans made at a scan station page by a signed-in person, answered one result
    per event as :func:`scanners.batch.handle_station_scans` answers them, except:

    - a repeat (see the module) is ``{"status": "duplicate", "seqs": [seq],
      "repeat": {"seq", "at_ms"}, "reason": "already recorded (seq N at T)"}``
      and is not appended;
    - a commissioning the rules refuse is ``{"status": "rejected", "reason",
      "refusal": {"why", "key", "gtin", "serial", "party", "allocated"}}``.

    ``session`` reads the commissioning rules' data before the append (it must hold
    no write lock: ``append`` opens its own transaction). ``append(choose)`` appends
    the hops ``choose(conn)`` returns, calling it with the ledger lock held
    (:func:`ledger.append.append_chosen_hops`): the repeat check reads each unit's
    last live entry inside the append's critical section, so two stations scanning
    the same step of the same unit at once record it once, and the other is told
    "already recorded". ``party_kind``: the acting party's kind. Raises
    :class:`~scanners.batch.BatchFormatError` when ``device_id`` or ``events`` are
    unusable.
    """
    batch = parse_scan_batch(
        json.dumps({"device_id": device_id, "events": list(events)}), now_ms=now_ms
    )
    planned = to_hops(batch, party_code, site_code, now_ms, restricted=restricted)
    hops = [p.hop for p in planned if isinstance(p, PlannedHop)]
    refused = commission_refusals(session, hops, known_gtins, party_kind)
    session.rollback()  # no read transaction open across the append
    candidates = [i for i in range(len(hops)) if i not in refused]
    repeats: dict[int, LastEntry] = {}
    same_as: dict[int, int] = {}
    to_append: list[int] = []

    def choose(conn: Connection) -> list[Hop]:
        """Runs with the ledger lock held: the repeats are decided on what is stored."""
        repeats.clear()
        same_as.clear()
        to_append.clear()
        last = last_live_entries(conn, [hops[i].unit for i in candidates])
        first_in_batch: dict[tuple[str, str], int] = {}  # (unit, kind) -> position
        for i in candidates:
            hop = hops[i]
            if is_repeat(hop, last.get(hop.unit)):
                repeats[i] = last[hop.unit]
                continue
            mark = (hop.unit, hop.kind.value)
            if mark in first_in_batch:
                same_as[i] = first_in_batch[mark]
                continue
            first_in_batch[mark] = i
            to_append.append(i)
        return [hops[i] for i in to_append]

    appended = append(choose) if candidates else []
    results: dict[int, HopResult] = dict(zip(to_append, appended, strict=True))
    extra: dict[int, dict[str, Any]] = {}
    for i, refusal in refused.items():
        results[i] = HopResult("rejected", reason=refusal.reason)
        extra[i] = {
            "refusal": {
                "why": refusal.why, "key": refusal.key, "gtin": refusal.gtin,
                "serial": refusal.serial, "party": refusal.party,
                "allocated": refusal.allocated,
            }
        }  # fmt: skip
    for i, earlier in same_as.items():
        first = results[earlier]
        if first.status in ("accepted", "duplicate") and first.seqs:
            repeats[i] = LastEntry(first.seqs[0], hops[i].kind.value, hops[earlier].at_ms,
                                   hops[earlier].party, None, None)  # fmt: skip
        else:
            results[i] = first
    for i, entry in repeats.items():
        when = format_time(entry.at_ms)
        results[i] = HopResult(
            "duplicate", (entry.seq,), reason=f"already recorded (seq {entry.seq} at {when})"
        )
        extra[i] = {"repeat": {"seq": entry.seq, "at_ms": entry.at_ms}}
    rows = batch_results(planned, [results[i] for i in range(len(hops))])
    by_seq = {hops[i].device_seq: more for i, more in extra.items()}
    for row in rows:
        more = by_seq.get(row.get("device_seq"))
        if more is not None:
            row.update(more)
    return ScanBatchResponse(batch.device_id, rows)
