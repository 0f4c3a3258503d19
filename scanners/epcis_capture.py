"""Capturing an EPCIS 2.0 document into the ledger without duplicating history.

:func:`plan_capture` reads the document (:func:`scanners.epcis.capture_events`)
and decides, event by event, against what was captured before
(:mod:`scanners.epcis_events`):

- An event whose eventID or EPCIS event hash ID (CBV 2.0 §8.9) was captured
  before, or whose eventID is one our export writes for a ledger entry
  (``urn:hopchain:entry:<seq>:<leaf hex>``), is a duplicate as a whole: nothing
  is appended; each hop answers ``duplicate`` with the seqs it was stored under,
  or ``conflict`` when the stored entries of that event say something else about
  the unit (another kind, time or party).
- An event with ``errorDeclaration`` (EPCIS 2.0 §7.4.1.2) retracts the event it
  repeats, found by eventID or by hash ID (which ignores the declaration): one
  error_declaration hop per ledger entry of that event (the ledger answers
  ``duplicate`` for an entry retracted already). A declaration of an event never
  captured refuses the document at ``errorDeclaration``.
- Any other event is appended; a second event of the same document with the same
  hash ID is appended under the first's device key (so ``duplicate``).

The caller appends :meth:`CapturePlan.to_append` and hands the results to
:func:`finish_capture`, which answers one result per hop and records an
``epcis_events`` row for each event with a hop accepted (or a duplicate with no
row: the row of a capture interrupted between append and record), and marks
declared events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ledger.hops import Hop, HopResult
from ledger.ids import EntryKind
from ledger.models import Entry, Party, Unit
from ledger.times import format_rfc3339
from scanners.epcis import CapturedEvent, EpcisError, EpcisResolvers, capture_events
from scanners.epcis_events import (
    EpcisEvent,
    entry_named_by,
    event_seqs,
    find_by_hash,
    find_by_id,
    mark_declared,
    record_event,
)

__all__ = ["CapturePlan", "finish_capture", "plan_capture"]

# (seq, unit key, kind, at_ms, party code, counterparty code) of a stored entry
_Stored = tuple[int, str, str, int, str, str | None]


@dataclass(slots=True)
class _Planned:
    event: CapturedEvent
    hops: list[Hop]
    row: EpcisEvent | None = None  # the stored event this one repeats or declares
    known: list[HopResult] | None = None  # answered without the ledger
    record: bool = True  # store an epcis_events row after the append


@dataclass(slots=True)
class CapturePlan:
    """What to append for a document, and what is known already (see the module)."""

    planned: list[_Planned] = field(default_factory=list)

    @property
    def hops(self) -> list[Hop]:
        """Every hop the answer reports on, in document order."""
        return [h for p in self.planned for h in p.hops]

    def to_append(self) -> list[Hop]:
        """The hops to hand :func:`ledger.append_hops`, in document order."""
        return [h for p in self.planned if p.known is None for h in p.hops]

    def restricted(self) -> CapturePlan:
        """The plan with every hop acting only within its party's custody
        (a distributor's capture, :mod:`ledger.permissions`)."""
        return CapturePlan(
            [
                dataclasses.replace(
                    p, hops=[dataclasses.replace(h, restricted=True) for h in p.hops]
                )
                for p in self.planned
            ]
        )


def plan_capture(
    session: Session, doc: object, resolvers: EpcisResolvers, *, now_ms: int | None = None
) -> CapturePlan:
    """The :class:`CapturePlan` of an EPCIS 2.0 document (reads ``session`` only).

    Raises :class:`~scanners.epcis.EpcisError` for any problem
    :func:`~scanners.epcis.capture_events` finds, and at
    ``$.epcisBody.eventList[i].errorDeclaration`` for a declaration of an event
    that was never captured.
    """
    plan = CapturePlan()
    first_by_hash: dict[str, CapturedEvent] = {}
    for event in capture_events(doc, resolvers, now_ms=now_ms):
        if event.declaration is not None:
            plan.planned.append(_declare(session, event))
            continue
        planned = _planned(session, event)
        if event.unresolved is not None:
            if planned.row is None:
                raise event.unresolved  # not a repeat: nothing to disaggregate
            planned = _repeated(session, event, planned.row)
        earlier = first_by_hash.get(event.hash_id)
        if planned.row is None and earlier is not None and earlier.key != event.key:
            # the same event again in this document, under another id (or none)
            planned.hops = [dataclasses.replace(h, device=earlier.device) for h in planned.hops]
            planned.record = False
        first_by_hash.setdefault(event.hash_id, event)
        plan.planned.append(planned)
    return plan


def finish_capture(
    session: Session, plan: CapturePlan, appended: Sequence[HopResult], *, now_ms: int
) -> list[HopResult]:
    """One result per hop of ``plan.hops`` given the results of ``plan.to_append()``;
    records the captured events and declarations and commits ``session``."""
    results: list[HopResult] = []
    pending = iter(appended)
    for p in plan.planned:
        mine = p.known if p.known is not None else [next(pending) for _ in p.hops]
        results += mine
        statuses = {r.status for r in mine}
        if p.event.declaration is not None:
            if p.row is not None and statuses & {"accepted", "duplicate"}:
                d = p.event.declaration
                mark_declared(
                    p.row,
                    declared_ms=d.declared_ms,
                    reason=d.reason,
                    corrective_ids=d.corrective_ids,
                )
            continue
        if p.known is None and p.record and statuses & {"accepted", "duplicate"}:
            record_event(
                session,
                event_id=p.event.key,
                hash_id=p.event.hash_id,
                device=p.event.device,
                captured_ms=now_ms,
            )
    if next(pending, None) is not None:
        raise ValueError("more results than hops to append")
    session.commit()
    return results


def _planned(session: Session, event: CapturedEvent) -> _Planned:
    """An observation event: new, repeated (same hash: the ledger answers duplicate
    under the stored device key) or known under another form (an export)."""
    hops = list(event.hops)
    row = find_by_id(session, event.event_id) if event.event_id else None
    if row is None and event.event_id:
        seq = entry_named_by(session, event.event_id, [h.unit for h in hops])
        if seq is not None:
            return _Planned(event, hops, known=_match(hops, _entries(session, seq=seq), event))
    if row is None:
        row = find_by_hash(session, event.hash_id)
    if row is None:
        return _Planned(event, hops)
    if row.hash_id == event.hash_id:
        # the same event (perhaps under another eventID): its hops under the stored
        # device key, which the ledger answers duplicate with the original seqs
        stored = [dataclasses.replace(h, device=row.device) for h in hops]
        return _Planned(event, stored, row=row, record=False)
    known = _match(hops, _entries(session, row.device), event)
    return _Planned(event, hops, row=row, known=known, record=False)


def _repeated(session: Session, event: CapturedEvent, row: EpcisEvent) -> _Planned:
    """An event captured before whose hops cannot be worked out again (a DELETE
    without childEPCs of a parent emptied since): duplicate, one result per stored
    entry of the event."""
    stored = _entries(session, row.device)
    hops = [
        Hop(unit=key, kind=EntryKind(kind), party=party, at_ms=at, counterparty=other)
        for _, key, kind, at, party, other in stored
    ]
    known = [HopResult("duplicate", (s[0],)) for s in stored]
    return _Planned(event, hops, row=row, known=known, record=False)


def _declare(session: Session, event: CapturedEvent) -> _Planned:
    """One error_declaration hop per entry of the event ``event`` declares."""
    assert event.declaration is not None
    where = f"{event.path}.errorDeclaration"
    row = find_by_id(session, event.event_id) if event.event_id else None
    seqs: list[int] = []
    if row is None and event.event_id:
        seq = entry_named_by(session, event.event_id, [h.unit for h in event.hops])
        if seq is not None:
            seqs = [seq]
    if row is None and not seqs:
        row = find_by_hash(session, event.hash_id)
    if row is not None and row.hash_id != event.hash_id and event.hops:
        # found by eventID in another form (our export, say): it must say the same
        # about each unit as the captured event did, or it declares something else
        stored = _entries(session, row.device)
        differs = next((h for h in event.hops if not _match([h], stored, event)[0].seqs), None)
        if differs is not None:
            raise EpcisError(
                where,
                f"declares an error in event {row.event_id}, but says something else than "
                f"the event captured under that eventID ({_difference(differs, stored)}); "
                "an error declaration repeats the event it declares",
            )
    if row is not None:
        seqs = [s[0] for s in _entries(session, row.device)]
    if not seqs:
        named = f"eventID {event.event_id!r} or " if event.event_id else ""
        raise EpcisError(
            where,
            f"declares an error in an event that was never captured: no captured event "
            f"has {named}hash ID {event.hash_id} (an event and its error declaration "
            "are captured in separate documents)",
        )
    units = dict(
        session.execute(
            select(Entry.seq, Unit.key)
            .join(Unit, Unit.id == Entry.unit_id)
            .where(Entry.seq.in_(seqs))
        ).all()
    )
    d = event.declaration
    party = (
        event.hops[0].party if event.hops else event.unresolved.party if event.unresolved else ""
    )
    hops = [
        Hop(
            unit=units[seq],
            kind=EntryKind.ERROR_DECLARATION,
            party=party,
            at_ms=d.declared_ms,
            note=f"error declared: {d.reason}" if d.reason else "error declared",
            retracts=seq,
        )
        for seq in seqs
    ]
    return _Planned(event, hops, row=row, record=False)


def _entries(
    session: Session, device: str | None = None, *, seq: int | None = None
) -> list[_Stored]:
    """The observation entries stored under ``device`` (or the entry at ``seq``)."""
    other = aliased(Party)
    query = (
        select(Entry.seq, Unit.key, Entry.kind, Entry.at_ms, Party.code, other.code)
        .join(Unit, Unit.id == Entry.unit_id)
        .join(Party, Party.id == Entry.party_id)
        .outerjoin(other, other.id == Entry.counterparty_id)
        .where(Entry.kind != EntryKind.ERROR_DECLARATION.value)
        .order_by(Entry.seq)
    )
    query = (
        query.where(Entry.seq == seq)
        if seq is not None
        else query.where(Entry.seq.in_(event_seqs(session, device or "")))
    )
    return [
        (int(s), str(k), str(kind), int(at), str(p), c)
        for s, k, kind, at, p, c in session.execute(query).all()
    ]


def _match(hops: list[Hop], stored: list[_Stored], event: CapturedEvent) -> list[HopResult]:
    """Each hop of an event captured before in another form: ``duplicate`` with the
    seq of the stored entry that says the same about its unit, else ``conflict``."""
    out: list[HopResult] = []
    for hop in hops:
        same = [
            s[0]
            for s in stored
            if s[1] == hop.unit
            and s[2] == hop.kind.value
            and s[3] == hop.at_ms
            and s[4] == hop.party
            and s[5] == hop.counterparty
        ]
        if same:
            out.append(HopResult("duplicate", tuple(same)))
            continue
        out.append(
            HopResult(
                "conflict",
                reason=f"event {event.key} was captured before and said something else "
                f"({_difference(hop, stored)}); nothing was recorded: give this event an "
                "eventID of its own",
            )
        )
    return out


def _said(kind: str, unit: str, at_ms: int, party: str, other: str | None) -> str:
    peer = f" with {other}" if other else ""
    return f"{kind} of {unit} by {party}{peer} at {format_rfc3339(at_ms) or at_ms}"


def _difference(hop: Hop, stored: list[_Stored]) -> str:
    """What the stored entries of an event said beside what ``hop`` says, in words."""
    mine = [s for s in stored if s[1] == hop.unit] or stored
    held = (
        _said(mine[0][2], mine[0][1], mine[0][3], mine[0][4], mine[0][5])
        + (f" and {len(mine) - 1} more" if len(mine) > 1 else "")
        if mine
        else "entries since retracted"
    )
    came = _said(hop.kind.value, hop.unit, hop.at_ms, hop.party, hop.counterparty)
    return f"stored: {held}; this one: {came}"
