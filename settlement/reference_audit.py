"""The audit trail of finance's reference data: one :class:`ReferenceChange` row per change.

Every write of the reference-data service records who changed what and when, the
value before (``None`` for a new row) and after, and where the change came from
(``page``, ``api``, ``cli`` or ``import prices.csv row 7``), in the same transaction
as the change itself, so a change and its audit row exist together or not at all.
A write that changes nothing records nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVarTuple

from sqlalchemy import Engine, Row, Select, func, select
from sqlalchemy.orm import Session

from settlement.common import Actor, now_ms
from settlement.models import ReferenceChange

__all__ = [
    "READERS",
    "ChangeView",
    "Outcome",
    "page_rows",
    "record_change",
    "reference_history",
]

#: What a write did: a new row, a changed row, or nothing (same values as stored).
Outcome = Literal["created", "updated", "unchanged"]

Ts = TypeVarTuple("Ts")

#: Roles that read reference data and its history.
READERS = ("finance", "channel_manager", "auditor", "admin")


@dataclass(frozen=True, slots=True)
class ChangeView:
    """One audited change; ``before``/``after`` are the JSON values (``None`` when absent)."""

    id: int
    kind: str
    key: str
    action: str
    actor: str
    at_ms: int
    before: Any
    after: Any
    source: str


def page_rows(
    s: Session, q: Select[*Ts], order: Sequence[Any], offset: int, limit: int
) -> tuple[Sequence[Row[*Ts]], int]:
    """One page of ``q`` in ``order`` (``offset`` >= 0, at most 1000 rows) and the total
    count: what every reference-data list returns."""
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = s.execute(q.order_by(*order).offset(max(0, offset)).limit(max(0, min(limit, 1000))))
    return rows.all(), int(total)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_change(
    s: Session,
    kind: str,
    key: str,
    action: str,
    actor: Actor,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    source: str,
) -> None:
    """Add the audit row of one change to ``s`` (the caller's transaction)."""
    s.add(
        ReferenceChange(
            kind=kind[:20],
            key=key[:200],
            action=action[:20],
            actor=actor.username,
            at_ms=now_ms(),
            before_json=_dump(before),
            after_json=_dump(after),
            source=source[:300],
        )
    )


def reference_history(
    engine: Engine,
    actor: Actor,
    *,
    kind: str | None = None,
    key: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ChangeView], int]:
    """Audited changes, newest first, optionally of one ``kind`` and ``key``; with the total.

    Raises :class:`~settlement.common.PermissionDenied` for roles other than
    finance, channel_manager, auditor and admin.
    """
    actor.require(*READERS, action="read the reference data history")
    q = select(ReferenceChange)
    if kind:
        q = q.where(ReferenceChange.kind == kind)
    if key:
        q = q.where(ReferenceChange.key == key)
    with Session(engine) as s:
        rows, total = page_rows(s, q, [ReferenceChange.id.desc()], offset, limit)
        return [
            ChangeView(
                r.id,
                r.kind,
                r.key,
                r.action,
                r.actor,
                r.at_ms,
                json.loads(r.before_json),
                json.loads(r.after_json),
                r.source,
            )
            for (r,) in rows
        ], total
