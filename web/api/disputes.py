"""Statement answers and finance's dispute queue as JSON.

A distributor confirms one of its posted statements or disputes some of its lines
(``POST /statements/{id}/response``); finance reads the queue of disputed lines and
resolves each by an adjustment on the party's next statement or by a written
rejection; auditors and admins read the queue. The rules are in
:mod:`settlement.disputes`; this module parses requests and maps errors to answers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NoReturn

from flask import abort, jsonify
from flask.typing import ResponseReturnValue

import settlement
from settlement import SettlementError
from web.api import api_route, id_param, json_body, json_response, query_int, query_param, query_str
from web.api.paging import page_params, page_window, paged, paged_response
from web.converters import ID_MAX
from web.db import get_engine
from web.roles import Role
from web.settlement_access import abort_reason, current_actor

__all__ = ["QUEUE_READERS", "abort_for_dispute", "dispute_json"]

QUEUE_READERS = (Role.FINANCE, Role.AUDITOR, Role.ADMIN)
_OBJECT = {"type": "object"}
_DISPUTE_LINE = {
    "type": "object",
    "required": ["line", "reason"],
    "properties": {
        "line": {"type": "integer", "minimum": 1, "description": "The line number as printed"},
        "reason": {"type": "string"},
    },
}


def _json_request(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An OpenAPI request body: a JSON object with ``properties``."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def abort_for_dispute(exc: SettlementError) -> NoReturn:
    """404 for a statement or dispute the caller may not see (exactly like a missing
    one), 403 for a role the service refuses, 409 for an answer given twice or a
    dispute already resolved, 422 for anything else wrong with the input."""
    if isinstance(exc, settlement.StatementNotFound | settlement.DisputeNotFound):
        abort(404)
    if isinstance(exc, settlement.PermissionDenied):
        abort_reason(403, exc)
    if isinstance(exc, settlement.DisputeStateError):
        abort_reason(409, exc)
    abort_reason(422, exc)


def dispute_json(d: settlement.DisputeView) -> dict[str, Any]:
    return dataclasses.asdict(d)


def _answer_body() -> tuple[bool, list[tuple[int, str]]]:
    """``confirm`` and the disputed ``(position, reason)`` pairs; 422 naming the JSON path."""
    body = json_body()
    confirm = body.get("confirm", False)
    if not isinstance(confirm, bool):
        abort(422, "confirm must be true or false")
    raw = body.get("disputes", [])
    if not isinstance(raw, list):
        abort(422, "disputes must be a list of {line, reason}")
    pairs: list[tuple[int, str]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            abort(422, f"disputes[{i}] must be an object with line and reason")
        line, reason = item.get("line"), item.get("reason", "")
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            abort(422, f"disputes[{i}].line must be a line number (1 or more)")
        if not isinstance(reason, str):
            abort(422, f"disputes[{i}].reason must be a string")
        pairs.append((line - 1, reason))
    return confirm, pairs


@api_route(
    "/statements/<id:statement_id>/response",
    methods=("POST",),
    summary="Confirm a posted statement, or dispute some of its lines with a reason each",
    description='Body `{"confirm": true}` or `{"disputes": [{"line": 2, "reason": '
    '"..."}]}` (line numbers as printed). A statement is answered once; another '
    "party's statement, or one whose run is not posted, answers 404.",
    request_body=_json_request(
        {"confirm": {"type": "boolean"}, "disputes": {"type": "array", "items": _DISPUTE_LINE}}
    ),
    responses={
        201: json_response("The answer stored, with the disputes it opened", _OBJECT),
        404: "No such statement",
        409: "Already answered",
    },
    roles=(Role.DISTRIBUTOR,),
    tags=("disputes",),
)
def statement_response(statement_id: int) -> ResponseReturnValue:
    confirm, pairs = _answer_body()
    try:
        result = settlement.respond_to_statement(
            get_engine(), statement_id, current_actor(), confirm=confirm, disputes=pairs,
            source="api",
        )  # fmt: skip
    except SettlementError as exc:
        abort_for_dispute(exc)
    return jsonify(dataclasses.asdict(result)), 201


@api_route(
    "/disputes",
    summary="Disputed statement lines, longest waiting first",
    description="Filter by `status` (open, adjusted, rejected) and `party_id`; page with "
    "`limit` (at most 200) and the `cursor` of the `Link` header (or `offset`). Answers "
    "`{items, total, offset, limit}` with `X-Total-Count` and `Link`.",
    params=(
        query_param("status", "string", enum=list(settlement.DISPUTE_STATUSES)),
        id_param("party_id"),
        query_param("offset", minimum=0, maximum=ID_MAX, default=0),
        *page_params("disputes", maximum=200),
    ),
    responses={200: paged_response("A page of the queue", _OBJECT)},
    roles=QUEUE_READERS,
    tags=("disputes",),
)
def disputes_list() -> ResponseReturnValue:
    status = query_str("status")
    offset, limit = page_window()
    try:
        items, total = settlement.list_disputes(
            get_engine(), current_actor(), status=status,
            party_id=query_int("party_id", minimum=1), offset=offset, limit=limit,
        )  # fmt: skip
    except SettlementError as exc:
        abort_for_dispute(exc)
    body = jsonify(items=[dispute_json(d) for d in items], total=total, offset=offset, limit=limit)
    return paged(body, total, offset, limit, len(items))


@api_route(
    "/disputes/<id:dispute_id>",
    summary="One disputed line with its reason and resolution",
    responses={200: json_response("The dispute", _OBJECT), 404: "No such dispute"},
    roles=QUEUE_READERS,
    tags=("disputes",),
)
def dispute_detail(dispute_id: int) -> ResponseReturnValue:
    try:
        return jsonify(
            dispute_json(settlement.get_dispute(get_engine(), dispute_id, current_actor()))
        )
    except SettlementError as exc:
        abort_for_dispute(exc)


@api_route(
    "/disputes/<id:dispute_id>/adjust",
    methods=("POST",),
    summary="Resolve a disputed line by an adjustment on the party's next statement",
    description='Body `{"amount_minor": 1250, "note": "..."}`: signed minor units of '
    "the party's currency (positive pays the party). The adjustment is booked pending; "
    "a second finance user approves it.",
    request_body=_json_request(
        {"amount_minor": {"type": "integer"}, "note": {"type": "string"}},
        ("amount_minor", "note"),
    ),
    responses={
        200: json_response("The dispute, adjusted", _OBJECT),
        404: "No such dispute",
        409: "Already resolved",
    },
    roles=(Role.FINANCE,),
    tags=("disputes",),
)
def dispute_adjust(dispute_id: int) -> ResponseReturnValue:
    body = json_body()
    amount, note = body.get("amount_minor"), body.get("note", "")
    if isinstance(amount, bool) or not isinstance(amount, int):
        abort(422, "amount_minor must be an integer number of minor units")
    if not isinstance(note, str):
        abort(422, "note must be a string")
    try:
        view = settlement.resolve_dispute_by_adjustment(
            get_engine(), dispute_id, amount, note, current_actor(), source="api"
        )
    except SettlementError as exc:
        abort_for_dispute(exc)
    return jsonify(dispute_json(view))


@api_route(
    "/disputes/<id:dispute_id>/reject",
    methods=("POST",),
    summary="Reject a disputed line with a written reason the distributor reads",
    request_body=_json_request({"reason": {"type": "string"}}, ("reason",)),
    responses={
        200: json_response("The dispute, rejected", _OBJECT),
        404: "No such dispute",
        409: "Already resolved",
    },
    roles=(Role.FINANCE,),
    tags=("disputes",),
)
def dispute_reject(dispute_id: int) -> ResponseReturnValue:
    reason = json_body().get("reason", "")
    if not isinstance(reason, str):
        abort(422, "reason must be a string")
    try:
        view = settlement.reject_dispute(
            get_engine(), dispute_id, reason, current_actor(), source="api"
        )
    except SettlementError as exc:
        abort_for_dispute(exc)
    return jsonify(dispute_json(view))
