"""A party's risk level as JSON (issue 13, area C; the rules are
:mod:`risk.assessment`'s, seed 000 "风险矩阵模型").

- ``POST /credit/parties/{code}/assessment``: assess now and apply the matrix's
  action (finance, channel manager, admin); 201 with the assessment.
- ``PUT /credit/parties/{code}/assessment``: set the level and cash only by hand,
  body ``{"level": "high", "cash_only": true, "reason": "..."}`` (finance, admin).
- ``GET /credit/parties/{code}/assessments``: the history, newest first (credit
  readers; ``limit`` and ``cursor``).
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ledger.models import Party
from ledger.said import SaidError
from partners.errors import PartnerNotFound
from risk import assessment as ra
from web.api import api_route, json_body, json_response
from web.api.body import request_json as json_request
from web.api.evaluation import body_field
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine, get_session
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__: list[str] = []

_TAGS = ("credit",)
_ASSESSMENT = {
    "type": "object",
    "required": ["id", "party", "level", "cash_only", "basis", "action", "manual"],
    "properties": {
        "id": {"type": "integer"},
        "party": {"type": "string"},
        "level": {"type": "string", "enum": list(ra.LEVELS)},
        "cash_only": {"type": "boolean"},
        "basis": {
            "type": "object",
            "description": "grade, score, rating_id, max_overdue_days, utilisation_permille "
            "(null: no limit), confirmed_alerts (12 months), exposure_minor, limit_minor, "
            "currency, why (the rules that held: grade, overdue, alerts, utilisation)",
        },
        "action": {
            "type": "object",
            "description": "cash_only, cash_only_lifted, limit_before / limit_after (minor "
            "units of currency, null: none), alert (id), tasks [{kind, id, due_on}]",
        },
        "manual": {"type": "boolean"},
        "reason": {"type": "string"},
        "assessed_on": {"type": "string", "format": "date"},
        "assessed_by": {"type": "string"},
        "created_ms": {"type": "integer"},
    },
}


def _party(code: str) -> Party:
    party = get_session().scalar(select(Party).where(Party.code == code))
    if party is None:
        abort_for(PartnerNotFound.said("assess_no_party", "no party %(party)s", party=code))
    return party


@api_route(
    "/credit/parties/<code>/assessment",
    methods=("POST",),
    summary="Assess a party's risk level now and apply the risk matrix's action",
    description="High (grade B/CCC, over 90 days overdue, 3+ confirmed diversion alerts in "
    "12 months or utilisation over 120 %): cash only, a high_risk credit alert, termination "
    "proposed (task credit_termination). Medium (grade BBB/BB, over 30 days overdue, "
    "utilisation over 90 % or 1-2 alerts): limit = the table's limit x medium factor when "
    "lower, monthly review task. Low: annual review task. 409 without a rating.",
    responses={
        201: json_response("The assessment", _ASSESSMENT),
        404: "No such party",
        409: "The party has no rating",
    },
    roles=tuple(Role(r) for r in ra.ASSESSORS),
    tags=_TAGS,
)
def assessment_now(code: str) -> ResponseReturnValue:
    _party(code)
    try:
        view = ra.assess_party(get_engine(), code, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(ra.assessment_json(view, code)), 201


@api_route(
    "/credit/parties/<code>/assessment",
    methods=("PUT",),
    summary="Set a party's risk level and cash only by hand, with the reason",
    description='Body `{"level": "high", "cash_only": true, "reason": "court filing"}`; '
    "no task, alert or limit change follows.",
    request_body=json_request(
        {
            "level": {"type": "string", "enum": list(ra.LEVELS)},
            "cash_only": {"type": "boolean"},
            "reason": {"type": "string"},
        },
        ("level", "cash_only", "reason"),
    ),
    responses={
        200: json_response("The assessment", _ASSESSMENT),
        404: "No such party",
        422: "A member missing or wrong",
    },
    roles=tuple(Role(r) for r in ra.HAND_SETTERS),
    tags=_TAGS,
)
def assessment_by_hand(code: str) -> ResponseReturnValue:
    party = _party(code)
    body = json_body()
    level = body_field(body, "level", str, required=True)
    cash_only = body_field(body, "cash_only", bool, required=True)
    reason = body_field(body, "reason", str, required=True)
    try:
        view = ra.set_by_hand(
            get_engine(), party.id, level=level, cash_only=cash_only, reason=reason,
            actor=current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    return jsonify(ra.assessment_json(view, code))


@api_route(
    "/credit/parties/<code>/assessments",
    summary="A party's risk assessments, newest first",
    params=page_params("assessments", maximum=200),
    responses={
        200: paged_response("A page of assessments", _ASSESSMENT),
        404: "No such party",
    },
    roles=tuple(Role(r) for r in ra.READERS),
    tags=_TAGS,
)
def assessments_list(code: str) -> ResponseReturnValue:
    party = _party(code)
    offset, limit = page_window()
    try:
        rows, total = ra.assessment_history(
            get_engine(), party.id, current_actor(), offset=offset, limit=limit
        )
    except SaidError as exc:
        abort_for(exc)
    body = jsonify(items=[ra.assessment_json(a, code) for a in rows], total=total)
    return paged(body, total, offset, limit, len(rows))
