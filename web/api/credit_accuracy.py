"""The credit-rating accuracy as JSON (issue 13; the rule in :mod:`risk.accuracy`).

- ``GET /credit/accuracy?horizon_days=365&on=YYYY-MM-DD``: per grade the ratings
  with a good, bad and pending outcome and the bad rate, the accuracy rate beside
  the seed's 95 % target, and a page of the wrong ratings (``limit`` and the
  ``cursor`` of the ``Link`` header; ``X-Total-Count`` counts the wrong ratings).

Errors: 403 a role that reads no credit, 400 a parameter out of its range.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from ledger.said import SaidError
from risk import accuracy as acc
from risk.rating import GRADES
from web.api import DAY_PATTERN, api_route, query_day, query_int, query_param
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__: list[str] = []

_RATE = {"type": ["string", "null"], "description": "Per cent, one decimal (e.g. `96.4`)."}
_GRADE_ROW = {
    "type": "object",
    "properties": {
        "good": {"type": "integer"},
        "bad": {"type": "integer"},
        "pending": {"type": "integer"},
        "bad_rate_percent": _RATE,
    },
}
_WRONG = {
    "type": "object",
    "properties": {
        "rating_id": {"type": "integer"},
        "party": {"type": "string", "description": "The party's code."},
        "party_name": {"type": "string"},
        "grade": {"type": "string", "enum": list(GRADES)},
        "score": {"type": "integer"},
        "rated_on": {"type": "string", "format": "date"},
        "outcome": {"type": "string", "enum": list(acc.OUTCOMES)},
        "reason": {"type": "string", "enum": ["overdue", "written_off", "clean"]},
        "item": {"type": ["string", "null"], "description": "The open item that went bad."},
        "day": {"type": ["string", "null"], "format": "date"},
        "why": {"type": "string", "description": "Why, in English."},
    },
}
_REPORT = {
    "type": "object",
    "properties": {
        "on": {"type": "string", "format": "date"},
        "horizon_days": {"type": "integer"},
        "grades": {"type": "object", "additionalProperties": _GRADE_ROW},
        "rated": {"type": "integer", "description": "Ratings with an outcome (good + bad)."},
        "right": {"type": "integer"},
        "pending": {"type": "integer"},
        "accuracy_percent": _RATE,
        "target_percent": {"type": "integer"},
        "meets_target": {"type": ["boolean", "null"]},
        "wrong_count": {"type": "integer"},
        "wrong": {"type": "array", "items": _WRONG},
    },
}


@api_route(
    "/credit/accuracy",
    summary="Credit-rating accuracy: ratings given vs what happened after them",
    description="A rating is bad when, within `horizon_days` after it, an open item of "
    "the party was more than 90 days past due and unpaid, or was written off; it is "
    "right when AAA-BBB and good or BB-CCC and bad. The wrong ratings are paged "
    "(`limit`, `cursor`).",
    params=(
        query_param(
            "horizon_days",
            minimum=acc.MIN_HORIZON_DAYS,
            maximum=acc.MAX_HORIZON_DAYS,
            default=acc.DEFAULT_HORIZON_DAYS,
            description="Days after each rating that count (default 365).",
        ),
        query_param(
            "on", "string", pattern=DAY_PATTERN, description="The day seen from (default today)."
        ),
        *page_params("wrong ratings", maximum=500),
    ),
    responses={200: paged_response("The accuracy report", _REPORT)},
    roles=tuple(Role(r) for r in acc.READERS),
    tags=("credit",),
)
def credit_accuracy() -> ResponseReturnValue:
    offset, limit = page_window()
    horizon = query_int("horizon_days", acc.DEFAULT_HORIZON_DAYS) or acc.DEFAULT_HORIZON_DAYS
    on = query_day("on")
    try:
        report = acc.accuracy(get_engine(), current_actor(), horizon_days=horizon, on=on)
    except SaidError as exc:
        abort_for(exc)
    wrong = report.wrong
    page = wrong[offset : offset + limit]
    body = jsonify(acc.report_json(report, page))
    return paged(body, len(wrong), offset, limit, len(page))
