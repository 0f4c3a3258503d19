"""Suspected alerts: the queue public sightings raise, and how it is settled.

A :class:`~sightings.models.SuspectedAlert` (raised by :mod:`sightings.public`)
stays ``suspected`` until one of these settles it:

* an inspector's scan (:func:`resolve_by_inspection`, called by
  :func:`sightings.inspection.record_inspection` in the same transaction, right
  after the :class:`~sightings.models.Inspection` row is flushed):

  - inspection verdict ``out_of_zone``: the unit's suspected ``out_of_zone`` row
    becomes ``confirmed`` and turns into a normal settlement alert
    (:class:`settlement.models.Alert`, finding type ``out_of_zone``) whose
    finding is the inspecting entry (its ``seq``). The alert is the one
    detection (``hopchain detect``) would file that entry under: the same natural
    key ``{responsible party}|{territory}|{period}|out_of_zone``, worked out by
    running detection's own kernel (:func:`settlement.detection.detect_arrays`)
    over the unit's history up to the entry, so the responsible party is the
    in-zone custodian that let it out, the territory the deepest stored one
    holding the entry and the period the entry's month (UTC). An alert already
    under that key is joined (one more finding). A later detection run finds the
    finding in place and adds nothing for it: one alert, one finding, as if
    detection had found it first. An :class:`~settlement.models.AlertEvent` says
    the finding came from public sightings confirmed by inspection N;
  - inspection verdict ``in_zone``: the suspected ``out_of_zone`` row is
    ``cleared``, the inspection its reason (``inspection_id``);
  - ``unlocated`` / ``unallocated``: nothing changes (the inspection cannot say).

  **An inspection never clears a clone suspect.** An inspector who finds the
  unit in a shop has seen one label; the other sighting may be a copy anywhere
  else. A clone suspect is left to a channel manager, who reads its sightings
  beside the unit's inspections and clears it with a note, or files an incident.

  **The inspecting entry as detection reads it.** The inspection is a ledger
  entry, and detection (``hopchain detect``, :mod:`settlement.kernels`) judges it
  like any other: after the unit's sale (``retail_selling``) or decommissioning,
  every entry but a customer return or the decommissioning is a cloned-code
  finding (the genuine unit has left the channel, so a unit on a shelf with its
  code is likely a copy), and so is a scan farther from the unit's previous
  located scan than 900 km/h allows. Settling agrees with detection: when
  detection's kernel, run over the unit's history up to the entry
  (:func:`detection_key`), flags the entry a clone finding,

  - nothing is cleared as "in zone": the shelf the copy sits on says nothing
    about where the genuine unit went, so an ``in_zone`` verdict leaves the
    ``out_of_zone`` suspects open (an ``out_of_zone`` verdict still confirms
    them: detection flags the entry out of zone as well);
  - the unit's open ``clone`` suspect is joined, or one is raised (no sightings,
    ``distance_km`` 0: no two places), and confirmed with the inspection as its
    reason and, as its alert, the ``clone`` alert detection files the entry
    under (same natural key ``{responsible}|{territory}|{period}|clone``, created
    or joined; a later detection run adds nothing for the entry);
  - :attr:`Resolution.end_of_life` says when the unit was sold (or
    decommissioned), for the inspector's answer;

* a channel manager or admin (:func:`clear_suspect`, a note required).

Every settlement records who (``resolved_by``), when (``resolved_ms``) and why
(``inspection_id``, or the manager's ``resolution_note``); confirmations also
leave an :class:`~settlement.models.AlertEvent` on the alert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.cache import cached_index
from ledger.canonical import format_time
from ledger.ids import EntryKind
from ledger.models import Entry, Party, Unit
from ledger.partitions import declarations
from ledger.retraction import live_entries
from settlement import kernels as K
from settlement.common import month_of
from settlement.detection import detect_arrays, entry_territories, load_grants
from settlement.models import Alert, AlertEvent, AlertFinding
from settlement.seals import NoteSigner, evidence_hash, seal_alerts
from settlement.severity import grade_stored_alerts
from settlement.snapshot import PARTY_KINDS, Snapshot, Tables
from sightings.errors import SightingError
from sightings.models import Inspection, PublicSighting, SuspectedAlert
from sightings.zone import unit_zone

__all__ = [
    "KINDS",
    "STATUSES",
    "DetectionKey",
    "EndOfLife",
    "Resolution",
    "SightingPoint",
    "SuspectDetail",
    "SuspectFilters",
    "SuspectNotFound",
    "SuspectRefused",
    "SuspectRow",
    "clear_suspect",
    "detection_key",
    "distance_of",
    "end_of_life",
    "get_suspect",
    "list_suspects",
    "resolve_by_inspection",
    "suspect_counts",
]

KINDS = ("out_of_zone", "clone")
STATUSES = ("suspected", "confirmed", "cleared")
#: The longest note a manager may write when clearing (characters).
NOTE_MAX = 2000

NOT_FOUND = "There is no suspected alert %(id)s."
NOTE_REQUIRED = "Write why the suspected alert is cleared: the note is required."
NOTE_TOO_LONG = "The note is too long: at most %(max)d characters."
NOT_OPEN = "Suspected alert %(id)s is already %(state)s; only a suspected one can be cleared."


class SuspectNotFound(SightingError):
    """No suspected alert has that id (field ``id``)."""


class SuspectRefused(SightingError):
    """A change the suspected alert cannot take (a missing note, already settled)."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """What one inspection settled: ids of the suspected alerts it confirmed and
    cleared, and of the settlement alerts the confirmed ones became;
    ``end_of_life``: the unit's sale or decommissioning before the inspection
    (None while it is in the channel); ``clone``: whether detection files the
    inspecting entry as a cloned-code finding (then a ``clone`` suspect is among
    ``confirmed`` and its alert among ``alert_ids``)."""

    confirmed: tuple[int, ...]
    cleared: tuple[int, ...]
    alert_ids: tuple[int, ...]
    end_of_life: EndOfLife | None = None
    clone: bool = False


@dataclass(frozen=True, slots=True)
class DetectionKey:
    """Where detection files one entry's out-of-zone finding.

    ``party_id``/``party_code``: the responsible party (None/``"-"`` when none),
    ``territory_code``: the deepest stored territory holding the entry ("" when
    none), ``period``: the entry's month ``YYYY-MM`` (UTC); ``out_of_zone``:
    whether detection flags the entry out of zone at all; ``clone``: whether it
    flags it a cloned-code finding (seen after the unit's sale or decommissioning,
    or too far from its previous located scan).
    """

    party_id: int | None
    party_code: str
    territory_code: str
    period: str
    out_of_zone: bool
    clone: bool = False

    @property
    def natural_key(self) -> str:
        """The out-of-zone alert's natural key (:meth:`key_for` ``"out_of_zone"``)."""
        return self.key_for("out_of_zone")

    def key_for(self, finding_type: str) -> str:
        """The natural key detection files the entry's ``finding_type`` finding under."""
        return f"{self.party_code}|{self.territory_code}|{self.period}|{finding_type}"


@dataclass(frozen=True, slots=True)
class EndOfLife:
    """How a unit left the channel before an entry: ``kind`` ``retail_selling``
    (sold) or ``decommissioning``, the ledger entry's ``seq`` and ``at_ms`` (ms
    since the epoch, UTC)."""

    kind: str
    seq: int
    at_ms: int


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ------------------------------------------------------------------ detection's key


def _unit_snapshot(session: Session, unit_id: int, upto_seq: int) -> Snapshot:
    """The unit's live entries with ``seq <= upto_seq`` as a one-unit snapshot, every
    party included (zones follow the party tree), in detection's column layout."""
    rows = session.execute(
        select(
            Entry.seq, Entry.kind, Entry.party_id, Entry.counterparty_id, Entry.at_ms,
            Entry.lat_e6, Entry.lon_e6,
        )
        .where(Entry.unit_id == unit_id, Entry.seq <= upto_seq, live_entries(declared=declarations(session)))
        .order_by(Entry.seq)
    ).all()  # fmt: skip
    prow = session.execute(
        select(Party.id, Party.code, Party.kind, Party.parent_id, Party.currency).order_by(Party.id)
    ).all()
    party_ids = np.array([int(r[0]) for r in prow], dtype=np.int64)
    pos = {int(r[0]): i for i, r in enumerate(prow)}
    kind_code = {k.value: k.code for k in EntryKind}
    n = len(rows)
    located = [(r[5], r[6]) if r[5] is not None and r[6] is not None else None for r in rows]
    currencies = tuple(sorted({str(r[4]) for r in prow}))
    return Snapshot(
        tree_size=upto_seq + 1,
        seq=np.array([int(r[0]) for r in rows], dtype=np.int64),
        unit=np.zeros(n, dtype=np.int32),
        kind=np.array([kind_code[str(r[1])] for r in rows], dtype=np.int8),
        party=np.array([pos[int(r[2])] for r in rows], dtype=np.int32),
        counterparty=np.array(
            [-1 if r[3] is None else pos[int(r[3])] for r in rows], dtype=np.int32
        ),
        at_ms=np.array([int(r[4]) for r in rows], dtype=np.int64),
        lat_e6=np.array([K.NO_COORD if p is None else p[0] for p in located], dtype=np.int32),
        lon_e6=np.array([K.NO_COORD if p is None else p[1] for p in located], dtype=np.int32),
        tables=Tables(
            unit_ids=np.array([unit_id], dtype=np.int64),
            unit_product=np.zeros(1, dtype=np.int32),
            products=("",),
            party_ids=party_ids,
            party_codes=tuple(str(r[1]) for r in prow),
            party_kind=np.array([PARTY_KINDS.get(str(r[2]), K.PK_OTHER) for r in prow], np.int8),
            party_parent=np.array(
                [-1 if r[3] is None else pos[int(r[3])] for r in prow], dtype=np.int32
            ),
            party_currency=np.array([currencies.index(str(r[4])) for r in prow], dtype=np.int16),
            currencies=currencies,
        ),
    )


def detection_key(session: Session, seq: int) -> DetectionKey:
    """Where ``hopchain detect`` files entry ``seq``'s out-of-zone finding.

    Runs detection's kernel (:func:`settlement.detection.detect_arrays`, 900 km/h,
    1 km, as ``hopchain detect`` by default; only the out-of-zone bit is read,
    which the speeds do not change) over the entry's unit's live history up to
    ``seq``, with the stored territories (:func:`geo.cache.cached_index`, the
    index ``hopchain detect`` loads) and every territory grant. Raises
    ``LookupError`` when no live entry has that seq.
    """
    entry = session.get(Entry, seq)
    if entry is None:
        raise LookupError(f"no ledger entry {seq}")
    snap = _unit_snapshot(session, entry.unit_id, seq)
    rows = np.flatnonzero(snap.seq == seq)
    if not rows.size:
        raise LookupError(f"ledger entry {seq} was retracted")
    row = int(rows[0])
    index = cached_index(session)
    grants = load_grants(session.connection(), snap, index.codes)
    terr = entry_territories(snap, index)
    res = detect_arrays(snap, terr, np.asarray(index.parent, dtype=np.int32), grants, n_parts=1)
    flags = int(res.flags[row])
    resp = int(res.responsible[row])
    if resp < 0 and not flags:  # detection files nothing here: name the allocated party
        resp = int(res.allocated[0])
    t = int(terr[row])
    return DetectionKey(
        party_id=int(snap.party_ids[resp]) if resp >= 0 else None,
        party_code=snap.party_codes[resp] if resp >= 0 else "-",
        territory_code=index.codes[t] if t >= 0 else "",
        period=month_of(int(snap.at_ms[row])),
        out_of_zone=bool(flags & K.F_OUT_OF_ZONE),
        clone=bool(flags & (K.F_CLONE_SPEED | K.F_CLONE_AFTER_END)),
    )


#: Entry kinds that put a unit back in the channel, as detection's kernel reads them
#: (:func:`settlement.kernels.detect`: its state becomes stock or transit).
_BACK_IN_CHANNEL = frozenset(
    k.value
    for k in (EntryKind.COMMISSIONING, EntryKind.SHIPPING, EntryKind.RECEIVING, EntryKind.RETURNING)
)
_END_KINDS = frozenset((EntryKind.RETAIL_SELLING.value, EntryKind.DECOMMISSIONING.value))


def end_of_life(session: Session, unit_id: int, before_seq: int) -> EndOfLife | None:
    """The sale or decommissioning that ended the unit's life in the channel before
    ledger entry ``before_seq``, or None when it is still in the channel then.

    Replays the unit's live entries (retracted ones left out) with detection's state
    rule: ``retail_selling`` or ``decommissioning`` end it (the first of a run is
    named), ``commissioning``, ``shipping``, ``receiving`` or ``returning`` put it
    back; other kinds change nothing."""
    ended: EndOfLife | None = None
    for seq, kind, at_ms in session.execute(
        select(Entry.seq, Entry.kind, Entry.at_ms)
        .where(
            Entry.unit_id == unit_id,
            Entry.seq < before_seq,
            live_entries(declared=declarations(session)),
        )
        .order_by(Entry.seq)
    ):
        if kind in _END_KINDS:
            ended = ended or EndOfLife(str(kind), int(seq), int(at_ms))
        elif kind in _BACK_IN_CHANNEL:
            ended = None
    return ended


def distance_of(kind: str, distance_km: int) -> int | None:
    """A suspect's distance as every page, the API and evidence.json show it: the km
    between the two sightings of a ``clone`` suspect, None for an ``out_of_zone``
    one and for a clone raised by an inspection after the unit's sale (one place)."""
    return distance_km if kind == "clone" and distance_km > 0 else None


def _refresh_alert(session: Session, alert: Alert) -> None:
    """Counts, severity and evidence hash of ``alert`` from its stored findings, as
    detection writes them (:func:`settlement.seals.evidence_hash`)."""
    session.flush()
    n_findings, n_units = session.execute(
        select(func.count(), func.count(func.distinct(AlertFinding.unit_id))).where(
            AlertFinding.alert_id == alert.id
        )
    ).one()
    alert.finding_count = int(n_findings)
    alert.unit_count = int(n_units)
    grade = grade_stored_alerts(session, [alert])[alert.id]
    alert.severity = grade.level
    alert.prior_offences = grade.prior_offences
    alert.value_minor = grade.value_minor
    alert.value_currency = grade.currency or None
    alert.value_fx_rate = (
        None if grade.fx_rate is None or grade.value_minor is None else str(grade.fx_rate)
    )
    alert.value_reference_minor = grade.value_reference_minor
    alert.unpriced_units = grade.unpriced_units
    evidence = [
        (int(q), int(u), int(t), bytes(leaf))
        for q, u, t, leaf in session.execute(
            select(AlertFinding.seq, AlertFinding.unit_id, AlertFinding.at_ms, Entry.leaf_hash)
            .join(Entry, Entry.seq == AlertFinding.seq)
            .where(AlertFinding.alert_id == alert.id)
            .order_by(AlertFinding.seq)
        )
    ]
    alert.evidence_hash = evidence_hash(
        alert.natural_key, alert.party_id, alert.territory_code, alert.period,
        alert.finding_type, evidence,
    )  # fmt: skip
    session.flush()


def _file_finding(
    session: Session,
    inspection: Inspection,
    actor: str,
    key: DetectionKey,
    finding_type: str,
    why: str,
) -> Alert:
    """The settlement alert detection would file the inspecting entry's
    ``finding_type`` finding under, with the entry as a finding (created or joined)
    and an event saying where it came from (``why``, English as events are)."""
    entry = session.get(Entry, inspection.seq)
    assert entry is not None  # detection_key found it
    tree_size = int(session.scalar(select(func.max(Entry.seq))) or 0) + 1
    natural_key = key.key_for(finding_type)
    alert = session.scalars(select(Alert).where(Alert.natural_key == natural_key)).first()
    created = alert is None
    if alert is None:
        alert = Alert(
            natural_key=natural_key, party_id=key.party_id,
            territory_code=key.territory_code, period=key.period, finding_type=finding_type,
            status="open", severity="low", unit_count=0, finding_count=0, appealed=False,
            created_ms=inspection.at_ms, updated_ms=inspection.at_ms,
            detected_tree_size=tree_size, evidence_hash="",
        )  # fmt: skip
        session.add(alert)
        session.flush()
    have = session.scalar(
        select(AlertFinding.id).where(
            AlertFinding.alert_id == alert.id, AlertFinding.seq == inspection.seq
        )
    )
    if have is None:
        session.add(
            AlertFinding(
                alert_id=alert.id, seq=inspection.seq, unit_id=entry.unit_id, at_ms=entry.at_ms
            )
        )
    alert.updated_ms = max(alert.updated_ms, inspection.at_ms)
    session.add(
        AlertEvent(
            alert_id=alert.id, at_ms=inspection.at_ms, actor=actor[:64], role="inspector",
            action="detected" if created else "findings_added", text=why,
        )
    )  # fmt: skip
    _refresh_alert(session, alert)
    return alert


def resolve_by_inspection(
    session: Session,
    inspection: Inspection,
    *,
    actor: str,
    signer: NoteSigner | None = None,
) -> Resolution:
    """Settle the unit's suspected alerts by ``inspection`` (flushed, its ledger
    entry appended), in the caller's transaction (see the module docstring).

    ``actor``: the inspector's user name, written as ``resolved_by`` and on the
    alert's event. ``signer`` (the ledger key, as ``hopchain detect`` signs with):
    when given and an alert was created or joined, the alerts seal is signed again
    over every alert, so ``hopchain settlement verify`` passes before the next
    detection run; without it the new alert is unsealed until detection runs.
    Returns what was confirmed and cleared and the alerts involved.
    """
    key = detection_key(session, inspection.seq)
    ended = end_of_life(session, inspection.unit_id, inspection.seq)
    open_rows = list(
        session.scalars(
            select(SuspectedAlert)
            .where(
                SuspectedAlert.unit_id == inspection.unit_id,
                SuspectedAlert.status == "suspected",
                SuspectedAlert.kind == "out_of_zone",
            )
            .order_by(SuspectedAlert.id)
            .with_for_update()
        )
    )
    stamp = inspection.at_ms
    confirmed: list[int] = []
    cleared: list[int] = []
    alert_ids: list[int] = []
    if open_rows and inspection.verdict == "out_of_zone":
        ids = [r.id for r in open_rows]
        which = ", ".join(str(i) for i in ids)
        alert = _file_finding(
            session, inspection, actor, key, "out_of_zone",
            f"public sightings (suspected alert {which}) confirmed by inspection "
            f"{inspection.id}, ledger entry {inspection.seq}",
        )  # fmt: skip
        for r in open_rows:
            r.status, r.resolved_ms, r.resolved_by = "confirmed", stamp, actor[:64]
            r.inspection_id, r.alert_id = inspection.id, alert.id
        confirmed += ids
        alert_ids.append(alert.id)
    elif open_rows and inspection.verdict == "in_zone" and not key.clone:
        for r in open_rows:
            r.status, r.resolved_ms, r.resolved_by = "cleared", stamp, actor[:64]
            r.inspection_id = inspection.id
        cleared += [r.id for r in open_rows]
    if key.clone:
        suspect = _clone_suspect(session, inspection)
        alert = _file_finding(
            session, inspection, actor, key, "clone", _clone_why(inspection, suspect, ended)
        )
        suspect.status, suspect.resolved_ms, suspect.resolved_by = "confirmed", stamp, actor[:64]
        suspect.inspection_id, suspect.alert_id = inspection.id, alert.id
        confirmed.append(suspect.id)
        if alert.id not in alert_ids:
            alert_ids.append(alert.id)
    session.flush()
    if alert_ids and signer is not None:
        tree_size = int(session.scalar(select(func.max(Entry.seq))) or 0) + 1
        seal_alerts(session, signer, tree_size)
    return Resolution(
        tuple(confirmed), tuple(cleared), tuple(alert_ids), end_of_life=ended, clone=key.clone
    )


def _clone_suspect(session: Session, inspection: Inspection) -> SuspectedAlert:
    """The unit's open ``clone`` suspect, joined (``last_ms`` grows), or one raised
    for the inspection (no sightings, no distance)."""
    q = select(SuspectedAlert).where(
        SuspectedAlert.unit_id == inspection.unit_id,
        SuspectedAlert.kind == "clone",
        SuspectedAlert.status == "suspected",
    )
    row = session.scalars(q.with_for_update()).first()
    if row is None:
        zone = unit_zone(session, inspection.unit_id, inspection.at_ms)
        try:
            with session.begin_nested():
                row = SuspectedAlert(
                    unit_id=inspection.unit_id, kind="clone", status="suspected",
                    allocated_party_id=zone.allocated_party_id,
                    territory_code=inspection.territory_code, first_ms=inspection.at_ms,
                    last_ms=inspection.at_ms, sighting_count=0, distance_km=0,
                    resolution_note="",
                )  # fmt: skip
                session.add(row)
                session.flush()
            return row
        except IntegrityError:  # a public sighting raised it meanwhile: join that one
            row = session.scalars(q).one()
    row.last_ms = max(row.last_ms, inspection.at_ms)
    session.flush()
    return row


def _clone_why(inspection: Inspection, suspect: SuspectedAlert, ended: EndOfLife | None) -> str:
    """The clone alert's event text (English, as alert events are)."""
    where = f"inspection {inspection.id}, ledger entry {inspection.seq}"
    if ended is not None:
        what = "sold" if ended.kind == EntryKind.RETAIL_SELLING.value else "decommissioned"
        return (
            f"{where}: the unit was {what} on {format_time(ended.at_ms)[:10]} (ledger entry "
            f"{ended.seq}); a unit on a shelf with its code is likely a copy "
            f"(suspected alert {suspect.id})"
        )
    return (
        f"{where}: too far from the unit's previous located scan for the time between "
        f"them (suspected alert {suspect.id})"
    )


def clear_suspect(
    session: Session, suspect_id: int, *, actor: str, note: str, now_ms: int | None = None
) -> None:
    """A channel manager (or admin) clears suspected alert ``suspect_id`` with ``note``
    (required, at most :data:`NOTE_MAX` characters, kept as ``resolution_note``).

    The caller checks the role. Raises :class:`SuspectNotFound` (field ``id``) and
    :class:`SuspectRefused` (field ``note`` for a missing or long note, field
    ``status`` when the row is not ``suspected`` any more). The caller commits.
    """
    text = (note or "").strip()
    if not text:
        raise SuspectRefused(NOTE_REQUIRED, field="note")
    if len(text) > NOTE_MAX:
        raise SuspectRefused(NOTE_TOO_LONG, field="note", max=NOTE_MAX)
    row = session.get(SuspectedAlert, suspect_id, with_for_update=True)
    if row is None:
        raise SuspectNotFound(NOT_FOUND, field="id", id=suspect_id)
    if row.status != "suspected":
        raise SuspectRefused(NOT_OPEN, field="status", id=suspect_id, state=row.status)
    stamp = _now_ms() if now_ms is None else now_ms
    row.status, row.resolved_ms, row.resolved_by = "cleared", stamp, actor[:64]
    row.resolution_note = text
    session.flush()


# ------------------------------------------------------------------ lists and detail


@dataclass(frozen=True, slots=True)
class SuspectFilters:
    """What the queue shows: ``status`` ("" = all), ``kind`` ("" = both),
    ``territory`` (a territory code, "" = any), ``party_id`` (allocated distributor)."""

    status: str = "suspected"
    kind: str = ""
    territory: str = ""
    party_id: int | None = None


@dataclass(frozen=True, slots=True)
class SuspectRow:
    """One suspected alert as lists show it; ``lat_e6``/``lon_e6``: its latest
    sighting's coarse location (None when it has none)."""

    id: int
    unit_id: int
    unit_key: str
    kind: str
    status: str
    allocated_party_id: int | None
    allocated_code: str
    allocated_name: str
    territory_code: str
    first_ms: int
    last_ms: int
    sighting_count: int
    distance_km: int | None  # distance_of: km for a clone between two places, else None
    resolved_ms: int | None
    resolved_by: str | None
    resolution_note: str
    inspection_id: int | None
    alert_id: int | None
    lat_e6: int | None
    lon_e6: int | None


@dataclass(frozen=True, slots=True)
class SightingPoint:
    """A public sighting (coarse location, micro-degrees) or an inspection of the unit."""

    id: int
    at_ms: int
    lat_e6: int | None
    lon_e6: int | None
    territory_code: str
    verdict: str
    suspect_id: int | None


@dataclass(frozen=True, slots=True)
class SuspectDetail:
    """A suspected alert with the unit's public sightings and inspections (newest
    first, at most 200 each) and the zone codes the unit was allocated for."""

    row: SuspectRow
    sightings: tuple[SightingPoint, ...]
    inspections: tuple[SightingPoint, ...]
    zone_codes: tuple[str, ...]
    sighting_total: int


def _query(filters: SuspectFilters) -> Select[SuspectedAlert, str, str, str]:
    s = SuspectedAlert
    q = (
        select(s, Unit.key, Party.code, Party.name)
        .join(Unit, Unit.id == s.unit_id)
        .outerjoin(Party, Party.id == s.allocated_party_id)
    )
    if filters.status:
        q = q.where(s.status == filters.status)
    if filters.kind:
        q = q.where(s.kind == filters.kind)
    if filters.territory:
        q = q.where(s.territory_code == filters.territory)
    if filters.party_id is not None:
        q = q.where(s.allocated_party_id == filters.party_id)
    return q


def _points(session: Session, unit_ids: list[int]) -> dict[int, tuple[int, int]]:
    """The latest public sighting's location of each unit."""
    if not unit_ids:
        return {}
    latest = (
        select(PublicSighting.unit_id, func.max(PublicSighting.id).label("top"))
        .where(PublicSighting.unit_id.in_(unit_ids))
        .group_by(PublicSighting.unit_id)
        .subquery()
    )
    rows = session.execute(
        select(PublicSighting.unit_id, PublicSighting.lat_e6, PublicSighting.lon_e6).join(
            latest,
            and_(latest.c.unit_id == PublicSighting.unit_id, latest.c.top == PublicSighting.id),
        )
    )
    return {int(u): (int(a), int(b)) for u, a, b in rows}


def _row(a: SuspectedAlert, key: str, code: str | None, name: str | None,
         point: tuple[int, int] | None) -> SuspectRow:  # fmt: skip
    return SuspectRow(
        id=a.id, unit_id=a.unit_id, unit_key=key, kind=a.kind, status=a.status,
        allocated_party_id=a.allocated_party_id, allocated_code=code or "",
        allocated_name=name or "", territory_code=a.territory_code, first_ms=a.first_ms,
        last_ms=a.last_ms, sighting_count=a.sighting_count, distance_km=distance_of(a.kind, a.distance_km),
        resolved_ms=a.resolved_ms, resolved_by=a.resolved_by,
        resolution_note=a.resolution_note or "", inspection_id=a.inspection_id,
        alert_id=a.alert_id, lat_e6=point[0] if point else None,
        lon_e6=point[1] if point else None,
    )  # fmt: skip


def list_suspects(
    session: Session, filters: SuspectFilters, *, offset: int = 0, limit: int = 50
) -> tuple[list[SuspectRow], int]:
    """One page of suspected alerts matching ``filters``, newest raised first (id
    descending), and how many match in all. ``offset`` >= 0; ``limit`` 1 … 500."""
    q = _query(filters)
    total = int(session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    rows = session.execute(
        q.order_by(SuspectedAlert.id.desc()).offset(max(0, offset)).limit(max(1, min(limit, 500)))
    ).all()
    points = _points(session, sorted({int(r[0].unit_id) for r in rows}))
    return [_row(a, k, c, n, points.get(a.unit_id)) for a, k, c, n in rows], total


def suspect_counts(session: Session, filters: SuspectFilters) -> dict[str, dict[str, int]]:
    """How many match ``filters`` by kind (``{"by_kind": {kind: n}}``) and by
    territory (``{"by_territory": {code: n}}``, "" for none), for the numbers
    beside the queue's map."""
    sub = _query(filters).subquery()
    by_kind = {
        str(k): int(n)
        for k, n in session.execute(select(sub.c.kind, func.count()).group_by(sub.c.kind))
    }
    by_territory = {
        str(t): int(n)
        for t, n in session.execute(
            select(sub.c.territory_code, func.count())
            .group_by(sub.c.territory_code)
            .order_by(func.count().desc(), sub.c.territory_code)
            .limit(20)
        )
    }
    return {"by_kind": by_kind, "by_territory": by_territory}


def get_suspect(session: Session, suspect_id: int) -> SuspectDetail:
    """Suspected alert ``suspect_id`` with its unit's sightings and inspections.

    Raises :class:`SuspectNotFound` (field ``id``)."""
    found = session.execute(_query(SuspectFilters(status="")).where(
        SuspectedAlert.id == suspect_id
    )).first()  # fmt: skip
    if found is None:
        raise SuspectNotFound(NOT_FOUND, field="id", id=suspect_id)
    a, key, code, name = found
    p = PublicSighting
    sightings = tuple(
        SightingPoint(int(i), int(t), int(la), int(lo), str(tc), str(v), sid)
        for i, t, la, lo, tc, v, sid in session.execute(
            select(p.id, p.at_ms, p.lat_e6, p.lon_e6, p.territory_code, p.verdict, p.suspect_id)
            .where(p.unit_id == a.unit_id)
            .order_by(p.at_ms.desc(), p.id.desc())
            .limit(200)
        )
    )
    total = int(
        session.scalar(select(func.count()).select_from(p).where(p.unit_id == a.unit_id)) or 0
    )
    i = Inspection
    inspections = tuple(
        SightingPoint(int(n), int(t), la, lo, str(tc), str(v), None)
        for n, t, la, lo, tc, v in session.execute(
            select(i.id, i.at_ms, i.lat_e6, i.lon_e6, i.territory_code, i.verdict)
            .where(i.unit_id == a.unit_id)
            .order_by(i.at_ms.desc(), i.id.desc())
            .limit(200)
        )
    )
    zone = unit_zone(session, a.unit_id, a.last_ms)
    point = (int(sightings[0].lat_e6 or 0), int(sightings[0].lon_e6 or 0)) if sightings else None
    return SuspectDetail(
        row=_row(a, key, code, name, point),
        sightings=sightings,
        inspections=inspections,
        zone_codes=zone.territory_codes,
        sighting_total=total,
    )
