"""CRM interactions and partner tasks as JSON (issue 12, "CRM"; the rules are in
:mod:`partners.crm` and :mod:`partners.tasks`).

- ``GET /interactions?party=CODE`` (paged, latest first), ``POST /interactions``;
- ``GET /tasks`` (open tasks, ``kind`` and ``party`` filters; paged),
  ``POST /tasks/{id}/done``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from partners import crm
from partners.errors import PartnerNotFound, require
from partners.tasks import TaskView, close_task, open_tasks
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api.body import request_json as json_request
from web.api.evaluation import body_field
from web.api.paging import page_params, page_window, paged, paged_response, window_of
from web.db import get_engine, get_session
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = ["TASK_KEEPERS", "TASK_READERS", "task_json"]

_OBJECT = {"type": "object"}
#: Who reads the open tasks, and who closes them.
TASK_READERS = (Role.PARTNER_MANAGER, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN)
TASK_KEEPERS = (Role.PARTNER_MANAGER, Role.ADMIN)


def task_json(t: TaskView, code: str) -> dict[str, Any]:
    return {
        "id": t.id, "party": code, "kind": t.kind, "title": t.title, "detail": t.detail,
        "due_on": t.due_on, "status": t.status, "created_ms": t.created_ms,
        "closed_ms": t.closed_ms, "closed_by": t.closed_by or None,
    }  # fmt: skip


@api_route(
    "/interactions",
    summary="A party's interactions (meeting, call, visit, email, training), latest first",
    params=(
        query_param("party", "string", required=True, maxLength=64, description="Party code."),
        *page_params("interactions", maximum=200),
    ),
    responses={200: paged_response("A page of interactions", _OBJECT), 404: "No such party"},
    roles=tuple(Role(r) for r in crm.READERS),
    tags=("crm",),
)
def interactions_list() -> ResponseReturnValue:
    offset, limit = page_window()
    try:
        items, total = crm.list_interactions(
            get_engine(), current_actor(), query_str("party") or "", offset=offset, limit=limit
        )
    except SaidError as exc:
        abort_for(exc)
    body = jsonify(items=[crm.interaction_json(i) for i in items], total=total)
    return paged(body, total, offset, limit, len(items))


@api_route(
    "/interactions",
    methods=("POST",),
    summary="Record an interaction with a party",
    description='Body `{"party": "CODE", "kind": "meeting", "happened_on": "2026-11-02", '
    '"subject": "...", "notes": "...", "next_step": "...", "next_due_on": "2026-11-20"}`.',
    request_body=json_request(
        {
            "party": {"type": "string"},
            "kind": {"type": "string", "enum": list(crm.INTERACTION_KINDS)},
            "happened_on": {"type": "string", "format": "date"},
            "subject": {"type": "string"},
            "notes": {"type": "string"},
            "next_step": {"type": "string"},
            "next_due_on": {"type": "string", "format": "date"},
        },
        ("party", "kind", "happened_on", "subject"),
    ),
    responses={201: json_response("The interaction", _OBJECT), 404: "No such party"},
    roles=tuple(Role(r) for r in crm.WRITERS),
    tags=("crm",),
)
def interactions_add() -> ResponseReturnValue:
    body = json_body()
    party, kind, happened_on, subject = (
        body_field(body, n, str, required=True) for n in ("party", "kind", "happened_on", "subject")
    )
    extra = {n: body_field(body, n, str) for n in ("notes", "next_step", "next_due_on")}
    try:
        view = crm.record_interaction(
            get_engine(), party, kind, happened_on, subject, current_actor(),
            notes=extra["notes"] or "", next_step=extra["next_step"] or "",
            next_due_on=extra["next_due_on"],
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    return jsonify(crm.interaction_json(view)), 201


_EDITABLE = ("kind", "happened_on", "subject", "notes", "next_step", "next_due_on")


@api_route(
    "/interactions/<id:interaction_id>",
    methods=("PATCH",),
    summary="Correct an interaction (never deleted; the audit trail keeps the old values)",
    description="Body: any of `kind`, `happened_on`, `subject`, `notes`, `next_step`, "
    '`next_due_on` (null clears it), e.g. `{"subject": "Q4 business review"}`.',
    request_body=json_request({n: {"type": "string"} for n in _EDITABLE}),
    responses={200: json_response("The interaction", _OBJECT), 404: "No such interaction"},
    roles=tuple(Role(r) for r in crm.WRITERS),
    tags=("crm",),
)
def interaction_edit(interaction_id: int) -> ResponseReturnValue:
    body = json_body()
    unknown = sorted(set(body) - set(_EDITABLE))
    if unknown:
        abort(422, f"$.{unknown[0]} is not a field of an interaction")
    values = {n: body_field(body, n, str) for n in body}
    try:
        view = crm.edit_interaction(get_engine(), interaction_id, values, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(crm.interaction_json(view))


@api_route(
    "/tasks",
    summary="Open partner tasks, earliest due first",
    description="Filter by `kind` (health_drop, quarterly_meeting, ...) and `party` (code).",
    params=(
        query_param("kind", "string", maxLength=30),
        query_param("party", "string", maxLength=64, description="Party code."),
        *page_params("tasks", maximum=500),
    ),
    responses={200: paged_response("A page of open tasks", _OBJECT), 404: "No such party"},
    roles=TASK_READERS,
    tags=("crm",),
)
def tasks_list() -> ResponseReturnValue:
    s = get_session()
    offset, limit = page_window()
    party_id = None
    code = query_str("party")
    if code is not None:
        party_id = s.scalar(select(Party.id).where(Party.code == code))
        if party_id is None:
            abort_for(PartnerNotFound.said("crm_no_party", "no party %(code)s", code=code))
    tasks = open_tasks(s, party_id=party_id, kind=query_str("kind"))
    page = window_of(tasks, offset, limit)
    codes = dict(
        s.execute(
            select(Party.id, Party.code).where(Party.id.in_({t.party_id for t in page}))
        ).all()
    )
    body = jsonify(items=[task_json(t, codes[t.party_id]) for t in page], total=len(tasks))
    return paged(body, len(tasks), offset, limit, len(page))


@api_route(
    "/tasks/<id:task_id>/done",
    methods=("POST",),
    summary="Mark a partner task done",
    description='Body `{"note": "..."}` (optional).',
    request_body=json_request({"note": {"type": "string"}}),
    responses={200: json_response("The task", _OBJECT), 404: "No such task", 409: "Already done"},
    roles=TASK_KEEPERS,
    tags=("crm",),
)
def task_done(task_id: int) -> ResponseReturnValue:
    body = json_body()
    note = body_field(body, "note", str) or ""
    actor = current_actor()
    try:
        require(actor, *(r.value for r in TASK_KEEPERS), action="close partner tasks")
        with Session(get_engine()) as s, s.begin():
            view = close_task(s, task_id, actor, note)
            code = s.scalar(select(Party.code).where(Party.id == view.party_id)) or ""
    except SaidError as exc:
        abort_for(exc)
    return jsonify(task_json(view, code))
