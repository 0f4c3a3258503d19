"""The EPCIS events captured into the ledger, by eventID and by EPCIS event hash ID.

One row per captured event: the ``eventID`` the partner sent (or, for an event sent
without one, its EPCIS event hash ID as CBV 2.0 §8.9 defines it), the hash ID, and
the ``device`` key its hops were appended under (``epcis:<40 hex>``), which links
the event to its ledger entries (``entries.device``) and receipts.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base

__all__ = ["EpcisEvent"]


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
