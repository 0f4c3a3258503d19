"""The EPCIS events captured into the ledger, by eventID and by EPCIS event hash ID.

One row per captured event: the ``eventID`` the partner sent (or, for an event sent
without one, its EPCIS event hash ID as CBV 2.0 §8.9 defines it), the hash ID, and
the ``device`` key its hops were appended under (``epcis:<40 hex>``), which links
the event to its ledger entries (``entries.device``) and receipts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, LargeBinary, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from ledger.models import Base, Entry, ScanReceipt, Unit
from ledger.times import format_rfc3339

__all__ = [
    "ENTRY_ID_PREFIX",
    "CorrectiveLink",
    "EpcisEvent",
    "Retraction",
    "corrective_ids",
    "entry_event_id",
    "entry_named_by",
    "event_device",
    "event_seqs",
    "find_by_hash",
    "find_by_id",
    "id_digest",
    "mark_declared",
    "record_event",
    "retractions",
]


class EpcisEvent(Base):
    """One captured EPCIS event (see the module docstring)."""

    __tablename__ = "epcis_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the eventID as sent, else the hash ID: what an export of its entries carries
    event_id: Mapped[str] = mapped_column(Text)
    # SHA-256 of event_id: the unique lookup key (ids are URIs of any length)
    id_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # ni:///sha-256;<64 hex>?ver=CBV2.0 of the event as captured (errorDeclaration,
    # eventID and recordTime excluded, as the hash ID algorithm says)
    hash_id: Mapped[str] = mapped_column(String(120), index=True)
    # the hops' device key: entries.device / scan_receipts.device of its entries
    device: Mapped[str] = mapped_column(String(64), unique=True)
    captured_ms: Mapped[int] = mapped_column(BigInteger)
    # set by an errorDeclaration of this event: when it was declared (ms), the
    # reason (CBV ER- value or URI) and the correctiveEventIDs (JSON list of strings)
    declared_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    declared_reason: Mapped[str] = mapped_column(Text, default="")
    corrective_ids: Mapped[str] = mapped_column(Text, default="")


# --- ids --------------------------------------------------------------------------------

#: The eventID an export gives an entry not captured from EPCIS (a handheld scan, the
#: demo): ``urn:hopchain:entry:<seq>:<leaf hash hex>``; capture recognises it.
ENTRY_ID_PREFIX = "urn:hopchain:entry:"
# what exports wrote before entries had the seq in their eventID
_LEAF_ID_PREFIX = "urn:hopchain:leaf:"
_ENTRY_ID = re.compile(r"^urn:hopchain:entry:(\d{1,18}):([0-9a-f]{64})$")
_LEAF_ID = re.compile(r"^urn:hopchain:leaf:([0-9a-f]{64})$")


def id_digest(event_id: str) -> bytes:
    """SHA-256 (32 bytes) of an event key: ``epcis_events.id_digest``."""
    return hashlib.sha256(event_id.encode("utf-8")).digest()


def event_device(key: str) -> str:
    """The device key of a captured event's hops, ``epcis:<40 hex>``: the first 40
    hex digits of SHA-256 of its key (the eventID as sent, else its hash ID)."""
    return "epcis:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def entry_event_id(seq: int, leaf_hash_hex: str) -> str:
    """The eventID an export writes for ledger entry ``seq`` (not captured from EPCIS)."""
    return f"{ENTRY_ID_PREFIX}{seq}:{leaf_hash_hex}"


def entry_named_by(
    db: Session | Connection, event_id: str, units: Sequence[str] = ()
) -> int | None:
    """The seq of the ledger entry an exported eventID names, or None.

    ``urn:hopchain:entry:<seq>:<leaf hex>`` names the entry only when the entry at
    that seq has that leaf hash (another ledger's export names nothing here);
    ``urn:hopchain:leaf:<leaf hex>`` (older exports) names the entry with that hash
    among the entries of ``units`` (the event's unit keys: looked up by unit, never
    by scanning the whole log; without units it names nothing).
    """
    if m := _ENTRY_ID.match(event_id):
        seq, leaf = int(m.group(1)), bytes.fromhex(m.group(2))
        found = db.execute(select(Entry.leaf_hash).where(Entry.seq == seq)).first()
        return seq if found is not None and bytes(found[0]) == leaf else None
    if (m := _LEAF_ID.match(event_id)) and units:
        row = db.execute(
            select(Entry.seq)
            .join(Unit, Unit.id == Entry.unit_id)
            .where(Unit.key.in_(list(units)), Entry.leaf_hash == bytes.fromhex(m.group(1)))
            .limit(1)
        ).first()
        return None if row is None else int(row[0])
    return None


def event_seqs(db: Session | Connection, device: str) -> list[int]:
    """The seqs of every ledger entry a captured event's hops appended (its device
    key), in order: read from its scan receipts (an index range), never by scanning
    the entries."""
    ranges = db.execute(
        select(ScanReceipt.first_seq, ScanReceipt.entry_count).where(ScanReceipt.device == device)
    ).all()
    return sorted(
        {s for first, count in ranges for s in range(int(first), int(first) + int(count))}
    )


# --- the table --------------------------------------------------------------------------


def find_by_id(session: Session, event_id: str) -> EpcisEvent | None:
    """The captured event stored under ``event_id`` (an eventID, or a hash ID for an
    event sent without one)."""
    return session.scalar(select(EpcisEvent).where(EpcisEvent.id_digest == id_digest(event_id)))


def find_by_hash(db: Session, hash_id: str) -> EpcisEvent | None:
    """The first captured event with EPCIS event hash ID ``hash_id``."""
    return db.scalar(
        select(EpcisEvent).where(EpcisEvent.hash_id == hash_id).order_by(EpcisEvent.id).limit(1)
    )


def record_event(
    session: Session, *, event_id: str, hash_id: str, device: str, captured_ms: int
) -> bool:
    """Store a captured event (in ``session``'s transaction; the caller commits).

    False when a row with that key or device exists already (a concurrent capture
    of the same event stored it first): the existing row stands.
    """
    try:
        with session.begin_nested():
            session.add(
                EpcisEvent(
                    event_id=event_id,
                    id_digest=id_digest(event_id),
                    hash_id=hash_id,
                    device=device,
                    captured_ms=captured_ms,
                )
            )
    except IntegrityError:
        return False
    return True


def mark_declared(
    row: EpcisEvent, *, declared_ms: int, reason: str, corrective_ids: Sequence[str]
) -> None:
    """Record an errorDeclaration of ``row``'s event (EPCIS 2.0 §7.4.1.2): when (ms),
    why (CBV ER- value or URI, ``""`` when not given) and its correctiveEventIDs.
    The first declaration stands; later ones change nothing."""
    if row.declared_ms is not None:
        return
    row.declared_ms = declared_ms
    row.declared_reason = reason
    row.corrective_ids = json.dumps(list(corrective_ids)) if corrective_ids else ""


def corrective_ids(row: EpcisEvent) -> list[str]:
    """The correctiveEventIDs declared for ``row`` (``[]`` when none)."""
    if not row.corrective_ids:
        return []
    ids = json.loads(row.corrective_ids)
    return [str(i) for i in ids] if isinstance(ids, list) else []


# --- retractions in a unit's history -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorrectiveLink:
    """One correctiveEventID of a declaration: the seqs its entries got once it was
    captured, or None while it is not captured yet."""

    event_id: str
    seqs: tuple[int, ...] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "captured": self.seqs is not None,
            "seqs": list(self.seqs) if self.seqs is not None else [],
        }


@dataclass(frozen=True, slots=True)
class Retraction:
    """What a unit's history shows on a retracted entry: the declaration entry's
    seq, when it was declared (ms since the epoch), the reason and the corrective
    events (linked whichever arrived first)."""

    by_seq: int
    declared_ms: int
    reason: str
    corrective: tuple[CorrectiveLink, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "by_seq": self.by_seq,
            "declared_at": format_rfc3339(self.declared_ms),
            "declared_ms": self.declared_ms,
            "reason": self.reason or None,
            "corrective_events": [c.as_json() for c in self.corrective],
        }


def retractions(db: Session | Connection, seqs: Iterable[int]) -> dict[int, Retraction]:
    """For each of ``seqs`` that an error_declaration entry retracts: its
    :class:`Retraction` (keyed by the retracted seq). Reason and corrective events
    come from the retracted event's ``epcis_events`` row (the declaration entry's
    note when the entry was not captured from EPCIS)."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    retracted = aliased(Entry)
    found: dict[int, Retraction] = {}
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        rows = db.execute(
            select(
                Entry.retracts_seq,
                Entry.seq,
                Entry.at_ms,
                Entry.anomaly,
                EpcisEvent.declared_reason,
                EpcisEvent.corrective_ids,
            )
            .join(retracted, retracted.seq == Entry.retracts_seq)
            .outerjoin(EpcisEvent, EpcisEvent.device == retracted.device)
            .where(Entry.retracts_seq.in_(chunk))
        ).all()
        for target, seq, at_ms, note, reason, correctives in rows:
            if target is None:
                continue
            ids = json.loads(correctives) if correctives else []
            found[int(target)] = Retraction(
                by_seq=int(seq),
                declared_ms=int(at_ms),
                reason=reason if reason is not None else note,
                corrective=tuple(_link(db, str(i)) for i in ids),
            )
    return found


def _link(db: Session | Connection, event_id: str) -> CorrectiveLink:
    row = db.execute(select(EpcisEvent.device).where(EpcisEvent.id_digest == id_digest(event_id)))
    device = row.scalar()
    if device is None:
        return CorrectiveLink(event_id, None)
    return CorrectiveLink(event_id, tuple(event_seqs(db, device)))
