"""The audit trail of partner management: who changed what, when.

Every service in :mod:`partners` (and ``risk``'s reviews) writes one
:class:`partners.models.PartnerEvent` per change in the same transaction as the
change, through :func:`record`; :func:`history` reads a record's trail back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partners.errors import Acting
from partners.models import PartnerEvent

__all__ = ["EventView", "changes", "event_view", "history", "now_ms", "record"]


def now_ms() -> int:
    """The clock in epoch milliseconds (UTC)."""
    return time.time_ns() // 1_000_000


def record(
    s: Session,
    action: str,
    actor: Acting,
    *,
    party_id: int | None = None,
    prospect_id: int | None = None,
    agreement_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at_ms: int | None = None,
) -> PartnerEvent:
    """Add one audit row (``action`` such as ``party.updated``) in ``s``'s transaction.

    ``detail`` must be JSON-serializable (for an edit, :func:`changes`' output)."""
    event = PartnerEvent(
        party_id=party_id,
        prospect_id=prospect_id,
        agreement_id=agreement_id,
        action=action,
        detail_json=json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False),
        actor_name=actor.username,
        actor_user_id=actor.user_id,
        at_ms=now_ms() if at_ms is None else at_ms,
    )
    s.add(event)
    return event


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field whose value differs (an edit's detail)."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


@dataclass(frozen=True, slots=True)
class EventView:
    """One audit row as pages and the API show it."""

    id: int
    action: str
    detail: dict[str, Any]
    actor_name: str
    at_ms: int
    party_id: int | None
    prospect_id: int | None
    agreement_id: int | None


def event_view(e: PartnerEvent) -> EventView:
    """The audit row ``e`` as pages and the API show it (its detail decoded)."""
    return EventView(
        e.id,
        e.action,
        json.loads(e.detail_json),
        e.actor_name,
        e.at_ms,
        e.party_id,
        e.prospect_id,
        e.agreement_id,
    )


def history(
    s: Session,
    *,
    party_id: int | None = None,
    prospect_id: int | None = None,
    agreement_id: int | None = None,
    limit: int = 200,
) -> list[EventView]:
    """The newest ``limit`` audit rows about a party, prospect or agreement, newest first."""
    q = select(PartnerEvent).order_by(PartnerEvent.at_ms.desc(), PartnerEvent.id.desc())
    if party_id is not None:
        q = q.where(PartnerEvent.party_id == party_id)
    if prospect_id is not None:
        q = q.where(PartnerEvent.prospect_id == prospect_id)
    if agreement_id is not None:
        q = q.where(PartnerEvent.agreement_id == agreement_id)
    return [event_view(e) for e in s.scalars(q.limit(limit))]
