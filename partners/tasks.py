"""Tasks for partner managers: what someone must do about a party, and by when.

Raised by the rules that notice something (a health score's threshold drop, a
quarter without a communication meeting, an agreement close to expiry, a trial
ending, an exit's handover); closed by a person. One open task per party and
kind (and ``key``): raising it again while open returns the open one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partners.audit import now_ms, record
from partners.errors import Acting, PartnerNotFound, PartnerStateError
from partners.models import PartnerTask

__all__ = ["TaskView", "close_task", "open_tasks", "raise_task"]


@dataclass(frozen=True, slots=True)
class TaskView:
    id: int
    party_id: int
    kind: str
    title: str
    detail: dict[str, Any]
    due_on: str | None
    assignee_user_id: int | None
    status: str
    created_ms: int
    closed_ms: int | None
    closed_by: str


def _view(t: PartnerTask) -> TaskView:
    return TaskView(
        t.id, t.party_id, t.kind, t.title, json.loads(t.detail_json), t.due_on,
        t.assignee_user_id, t.status, t.created_ms, t.closed_ms, t.closed_by,
    )  # fmt: skip


def raise_task(
    s: Session,
    party_id: int,
    kind: str,
    title: str,
    *,
    due_on: str | None = None,
    detail: Mapping[str, Any] | None = None,
    key: str = "",
    assignee_user_id: int | None = None,
) -> TaskView:
    """Open a task (in ``s``'s transaction) unless one of the same party, ``kind``
    and ``key`` (stored in the detail) is open already; returns the open task.

    ``title`` is English for the command line; pages word a task by its ``kind``
    and ``detail``. ``due_on`` is an ISO date."""
    body = dict(detail or {})
    body["key"] = key
    for t in s.scalars(
        select(PartnerTask).where(
            PartnerTask.party_id == party_id,
            PartnerTask.kind == kind,
            PartnerTask.status == "open",
        )
    ):
        if json.loads(t.detail_json).get("key", "") == key:
            return _view(t)
    task = PartnerTask(
        party_id=party_id,
        kind=kind,
        title=title,
        detail_json=json.dumps(body, sort_keys=True, ensure_ascii=False),
        due_on=due_on,
        assignee_user_id=assignee_user_id,
        status="open",
        created_ms=now_ms(),
    )
    s.add(task)
    s.flush()
    return _view(task)


def close_task(s: Session, task_id: int, actor: Acting, note: str = "") -> TaskView:
    """Mark a task done (audited); refuses a missing or already closed one."""
    task = s.get(PartnerTask, task_id)
    if task is None:
        raise PartnerNotFound.said("no_task", "no task %(task)s", task=task_id)
    if task.status != "open":
        raise PartnerStateError.said("task_closed", "task %(task)s is already done", task=task_id)
    task.status = "done"
    task.closed_ms = now_ms()
    task.closed_by = actor.username
    record(s, "task.done", actor, party_id=task.party_id, detail={"task": task_id, "note": note})
    return _view(task)


def open_tasks(s: Session, party_id: int | None = None, kind: str | None = None) -> list[TaskView]:
    """Open tasks, oldest due first (no due date last), of one party or kind if given."""
    q = select(PartnerTask).where(PartnerTask.status == "open")
    if party_id is not None:
        q = q.where(PartnerTask.party_id == party_id)
    if kind is not None:
        q = q.where(PartnerTask.kind == kind)
    rows = [_view(t) for t in s.scalars(q.order_by(PartnerTask.id))]
    return sorted(rows, key=lambda t: (t.due_on is None, t.due_on or "", t.id))
