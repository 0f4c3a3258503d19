"""A/B/C class reviews, their weights and health scores as JSON (issue 12,
"Evaluation and classes"; the rules are in :mod:`risk.reviews` and
:mod:`risk.health`).

- ``GET /reviews`` (``status``, ``party``; paged), ``POST /reviews`` opens one,
  ``GET /reviews/{id}``, ``POST /reviews/{id}/indicators`` (a channel manager's
  value 0-100), ``POST /reviews/{id}/confirm`` (class and reason);
- ``GET /review-weights?year=Y``, ``POST /review-weights`` (a new version);
- ``GET /health-scores?party=CODE`` (paged, latest first), ``POST /health-scores``
  computes today's (or ``today``'s) scores.

Errors: 404 unknown review or party, 403 a role the rule refuses, 409 a confirmed
review changed or a second open annual review, 422 a bad value (``error`` names the
field or JSON member).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, jsonify
from flask.typing import ResponseReturnValue

from ledger.said import SaidError
from risk import health, reviews
from web.api import (
    DAY_PATTERN,
    api_route,
    json_body,
    json_response,
    query_int,
    query_param,
    query_str,
)
from web.api.body import request_json as json_request
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = ["body_field", "json_request"]

_OBJECT = {"type": "object"}
_KINDS: dict[type, str] = {int: "a whole number", str: "a string", dict: "an object"}
_CODE = query_param("party", "string", maxLength=64, description="A party code.")


def _roles(names: tuple[str, ...]) -> tuple[Role, ...]:
    return tuple(Role(n) for n in names)


def body_field(body: dict[str, Any], name: str, kind: type, *, required: bool = False) -> Any:
    """``body[name]`` when it is a ``kind`` (never a bool for ``int``); 422 naming the
    member when it is missing (and ``required``) or of another type; None when absent."""
    if name not in body or body[name] is None:
        if required:
            abort(422, f"$.{name} is required")
        return None
    value = body[name]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        abort(422, f"$.{name} must be {_KINDS.get(kind, kind.__name__)}")
    return value


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(get_engine(), *args, **kwargs)
    except SaidError as exc:
        abort_for(exc)


@api_route(
    "/reviews",
    summary="A/B/C class reviews, newest first",
    description="Filter by `status` (open, confirmed) and `party` (code); page with "
    "`limit` and the `cursor` of the `Link` header. Answers `{items, total}`.",
    params=(
        query_param("status", "string", enum=["open", "confirmed"]),
        _CODE,
        *page_params("reviews", maximum=200),
    ),
    responses={200: paged_response("A page of reviews", _OBJECT), 404: "No such party"},
    roles=_roles(reviews.READERS),
    tags=("reviews",),
)
def reviews_list() -> ResponseReturnValue:
    offset, limit = page_window()
    items, total = _call(
        reviews.list_reviews, current_actor(), status=query_str("status"),
        party_code=query_str("party"), offset=offset, limit=limit,
    )  # fmt: skip
    body = jsonify(items=[reviews.review_json(r) for r in items], total=total)
    return paged(body, total, offset, limit, len(items))


@api_route(
    "/reviews",
    methods=("POST",),
    summary="Open a review of a party",
    description='Body `{"party": "CODE", "kind": "annual", "year": 2026, "trigger": "..."}`: '
    "the scorecard's indicators of that year are filled in.",
    request_body=json_request(
        {
            "party": {"type": "string"},
            "kind": {"type": "string", "enum": list(reviews.REVIEW_KINDS)},
            "year": {"type": "integer"},
            "trigger": {"type": "string"},
        },
        ("party", "year"),
    ),
    responses={
        201: json_response("The review", _OBJECT),
        404: "No such party",
        409: "An open annual review of that year exists",
    },
    roles=_roles(reviews.OPENERS),
    tags=("reviews",),
)
def reviews_open() -> ResponseReturnValue:
    body = json_body()
    party = body_field(body, "party", str, required=True)
    year = body_field(body, "year", int, required=True)
    kind = body_field(body, "kind", str) or "annual"
    trigger = body_field(body, "trigger", str) or ""
    view = _call(reviews.open_review, party, kind, year, trigger, current_actor())
    return jsonify(reviews.review_json(view)), 201


@api_route(
    "/reviews/<id:review_id>",
    summary="One review with every indicator's value, weight, points and basis",
    responses={200: json_response("The review", _OBJECT), 404: "No such review"},
    roles=_roles(reviews.READERS),
    tags=("reviews",),
)
def review_detail(review_id: int) -> ResponseReturnValue:
    return jsonify(reviews.review_json(_call(reviews.get_review, review_id, current_actor())))


@api_route(
    "/reviews/<id:review_id>/indicators",
    methods=("POST",),
    summary="Enter a manual indicator of an open review (0-100)",
    description='Body `{"indicator": "compliance", "value": 85, "note": "..."}`; indicators: '
    + ", ".join(reviews.MANUAL_INDICATORS)
    + ".",
    request_body=json_request(
        {
            "indicator": {"type": "string", "enum": list(reviews.MANUAL_INDICATORS)},
            "value": {"type": "integer", "minimum": 0, "maximum": 100},
            "note": {"type": "string"},
        },
        ("indicator", "value"),
    ),
    responses={
        200: json_response("The review, its proposal updated", _OBJECT),
        404: "No such review",
        409: "The review is confirmed",
    },
    roles=_roles(reviews.ENTERERS),
    tags=("reviews",),
)
def review_indicator(review_id: int) -> ResponseReturnValue:
    body = json_body()
    indicator = body_field(body, "indicator", str, required=True)
    value = body_field(body, "value", int, required=True)
    note = body_field(body, "note", str) or ""
    view = _call(reviews.enter_indicator, review_id, indicator, value, note, current_actor())
    return jsonify(reviews.review_json(view))


@api_route(
    "/reviews/<id:review_id>/confirm",
    methods=("POST",),
    summary="Confirm a review: the class in force from valid_from (default today)",
    description='Body `{"class": "A", "reason": "...", "valid_from": "2027-01-01"}`.',
    request_body=json_request(
        {
            "class": {"type": "string", "enum": ["A", "B", "C"]},
            "reason": {"type": "string"},
            "valid_from": {"type": "string", "format": "date"},
        },
        ("class", "reason"),
    ),
    responses={
        200: json_response("The confirmed review", _OBJECT),
        404: "No such review",
        409: "Already confirmed",
    },
    roles=_roles(reviews.CONFIRMERS),
    tags=("reviews",),
)
def review_confirm(review_id: int) -> ResponseReturnValue:
    body = json_body()
    cls = body_field(body, "class", str, required=True)
    reason = body_field(body, "reason", str, required=True)
    valid_from = body_field(body, "valid_from", str)
    view = _call(
        reviews.confirm_review, review_id, cls, reason, current_actor(), valid_from=valid_from
    )
    return jsonify(reviews.review_json(view))


def _weights_json(w: reviews.WeightsView) -> dict[str, Any]:
    return {
        "year": w.year,
        "version": w.version,
        "weights": {n: str(v) for n, v in w.weights.items()},
        "created_by": w.created_by or None,
        "created_ms": w.created_ms,
    }


@api_route(
    "/review-weights",
    summary="The review weights in force for a year (version 0: the defaults)",
    params=(query_param("year", minimum=2000, maximum=9999, required=True),),
    responses={200: json_response("The weights", _OBJECT)},
    roles=_roles(reviews.READERS),
    tags=("reviews",),
)
def review_weights() -> ResponseReturnValue:
    return jsonify(_weights_json(_call(reviews.weights_for, query_int("year"))))


@api_route(
    "/review-weights",
    methods=("POST",),
    summary="Store a new version of a year's review weights",
    description='Body `{"year": 2027, "weights": {"target": "0.3", "compliance": "0.7"}}`: '
    "decimals from 0 to 1 summing to exactly 1; an indicator left out weighs 0.",
    request_body=json_request(
        {"year": {"type": "integer"}, "weights": {"type": "object"}}, ("year", "weights")
    ),
    responses={201: json_response("The new version", _OBJECT)},
    roles=_roles(reviews.OPENERS),
    tags=("reviews",),
)
def review_weights_set() -> ResponseReturnValue:
    body = json_body()
    year = body_field(body, "year", int, required=True)
    weights = body_field(body, "weights", dict, required=True)
    view = _call(reviews.set_weights, year, weights, current_actor())
    return jsonify(_weights_json(view)), 201


@api_route(
    "/health-scores",
    summary="Stored health scores with their parts, latest day first",
    description="`party` (code) for one party's trend; page with `limit` and `cursor`.",
    params=(_CODE, *page_params("health scores", maximum=500)),
    responses={200: paged_response("A page of scores", _OBJECT), 404: "No such party"},
    roles=_roles(health.READERS),
    tags=("health",),
)
def health_list() -> ResponseReturnValue:
    offset, limit = page_window()
    items, total = _call(
        health.health_history, current_actor(), party_code=query_str("party"),
        offset=offset, limit=limit,
    )  # fmt: skip
    body = jsonify(items=[health.health_json(v) for v in items], total=total)
    return paged(body, total, offset, limit, len(items))


@api_route(
    "/health-scores",
    methods=("POST",),
    summary="Compute and store every distributor's health score",
    description='Body `{"today": "2026-12-01", "threshold": 15}` (both optional): a drop '
    "of `threshold` points or a fall below 40 raises a health_drop task.",
    request_body=json_request(
        {
            "today": {"type": "string", "pattern": f"^{DAY_PATTERN}$"},
            "threshold": {"type": "integer", "minimum": 1, "maximum": 100},
        }
    ),
    responses={200: json_response("The scores computed", _OBJECT)},
    roles=_roles(health.COMPUTERS),
    tags=("health",),
)
def health_compute() -> ResponseReturnValue:
    body = json_body()
    raw_today = body_field(body, "today", str)
    threshold = body_field(body, "threshold", int)
    today = None
    if raw_today is not None:
        try:
            today = dt.date.fromisoformat(raw_today) if len(raw_today) == 10 else None
        except ValueError:
            today = None
        if today is None:
            abort(422, f"$.today: {raw_today!r} is not a date (YYYY-MM-DD)")
    views = _call(
        health.compute_health, current_actor(), today,
        threshold=health.DROP_THRESHOLD if threshold is None else threshold,
    )  # fmt: skip
    return jsonify(items=[health.health_json(v) for v in views])
