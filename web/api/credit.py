"""Credit files, ratings and limits as JSON (issue 13, area A; the rules are in
:mod:`risk.credit_files`, :mod:`risk.rating` and :mod:`risk.limits`).

- ``GET /credit/parties`` the board (paged; ``q`` searches code or name);
- ``GET /credit/parties/{code}``: rating, limit, assessment and exposure;
- ``GET|POST /credit/parties/{code}/investigations``;
- ``POST /credit/parties/{code}/rating`` (rate now);
- ``PUT /credit/parties/{code}/limit`` (override, reason required),
  ``DELETE /credit/parties/{code}/limit`` (end the override);
- ``GET|PUT /credit/limit-table``, ``GET|PUT /credit/model``.

Money is in minor units of the named currency; bodies take amounts as decimal
text in major units (``"150000.00"``). A body member that cannot be stored
answers 400 naming every bad member by its JSON path (``$.rows.AAA.limit: ...``).
Credit readers: finance, channel managers, partner managers, auditors, admins;
distributors read their own credit in area B's ``/credit/items/mine``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from flask import abort, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from ledger.said import SaidError
from partners.values import InvalidField
from risk import credit_files, limits, rating
from risk.assessment import assessment_in_force
from risk.credit_files import CreditInputInvalid
from risk.exposure import exposure_in
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api.body import known, refuse, request_json, text
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine
from web.reasons import reason_message
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = ["credit_file_json"]

_OBJECT = {"type": "object"}
READERS = tuple(Role(r) for r in credit_files.CREDIT_READERS)
WRITERS = tuple(Role(r) for r in credit_files.CREDIT_WRITERS)
OVERRIDERS = tuple(Role(r) for r in limits.OVERRIDERS)
_TAGS = ("credit",)


def _refuse_all(
    problems: Sequence[InvalidField], path: Callable[[InvalidField], str], cause: Exception | None
) -> NoReturn:
    """400 naming every bad member by its JSON path (``$.rows.AAA.limit: why; ...``):
    the English as the answer's ``error``, the same paths before the reasons in the
    request's language as its ``message`` (:mod:`web.errors` reads it)."""
    answer = BadRequest("; ".join(f"$.{path(p)}{p}" for p in problems))
    answer.hopchain_message = (  # type: ignore[attr-defined]
        "%(problems)s",
        {"problems": "; ".join(f"$.{path(p)}{_words(p)}" for p in problems)},
    )
    raise answer from cause


def _words(problem: InvalidField) -> str:
    """``problem`` in the request's language, its field named by its JSON key (not the
    label a page shows), so the path before it stays a path."""
    worded = reason_message(problem)
    if worded is None:
        return str(problem)
    message, values = worded
    if "field" in values:
        values = {**values, "field": problem.field}
    return str(gettext(message, **values))


def _refuse(exc: SaidError, prefix: str = "") -> NoReturn:
    """400 naming every bad member (``$.prefix.field: why``) for several bad fields,
    else :func:`web.api.body.refuse`."""
    if isinstance(exc, CreditInputInvalid):
        _refuse_all(exc.problems, lambda _p: prefix, exc)
    refuse(exc)


def _not_text(field: str, value: object) -> InvalidField:
    return InvalidField.said("not_text", "must be text, not %(value)s", field=field,
                             value=json.dumps(value))  # fmt: skip


def _party(s: Session, code: str) -> Any:
    try:
        return credit_files.party_by_code(s, code)
    except SaidError as exc:
        abort_for(exc)


def credit_file_json(s: Session, party: Any, on: dt.date) -> dict[str, Any]:
    """A party's credit summary: latest rating, limit in force, newest assessment
    and exposure."""
    out: dict[str, Any] = {
        "party": party.code, "name": party.name, "currency": party.currency,
        "rating": rating.rating_json(rating.latest_rating(s, party.id)),
        "limit": limits.limit_json(limits.limit_in_force(s, party.id)),
    }  # fmt: skip
    found = assessment_in_force(s, party.id)
    out["assessment"] = None if found is None else dataclasses.asdict(found)
    e = exposure_in(s, party.id, on)
    out["exposure"] = {
        "currency": e.currency, "total_minor": e.total_minor, "limit_minor": e.limit_minor,
        "utilisation_permille": e.utilisation_permille,
        "max_overdue_days": e.max_overdue_days, "aging": dict(e.aging),
        "problems": list(e.problems),
    }  # fmt: skip
    return out


def _board_json(r: rating.BoardRow) -> dict[str, Any]:
    return dataclasses.asdict(r)


@api_route(
    "/credit/parties",
    summary="The credit board: every distributor's grade, score, risk level, limit, exposure",
    params=(
        query_param("q", "string", maxLength=64, description="Part of a code or name."),
        *page_params("parties", maximum=200),
    ),
    responses={200: paged_response("A page of distributors", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def board() -> ResponseReturnValue:
    offset, limit = page_window()
    with Session(get_engine()) as s:
        rows, total = rating.credit_board(
            s, search=query_str("q") or "", offset=offset, limit=limit
        )
    body = jsonify(items=[_board_json(r) for r in rows], total=total)
    return paged(body, total, offset, limit, len(rows))


@api_route(
    "/credit/parties/<code>",
    summary="A party's credit: latest rating, limit in force, risk assessment, exposure",
    responses={200: json_response("The party's credit", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def party_credit(code: str) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        party = _party(s, code)
        return jsonify(credit_file_json(s, party, dt.datetime.now(dt.UTC).date()))


@api_route(
    "/credit/parties/<code>/investigations",
    summary="A party's credit investigations, newest first, with their documents' facts",
    responses={200: json_response("The investigations", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def investigations(code: str) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        party = _party(s, code)
        found = credit_files.investigations_of(s, party.id)
    return jsonify(items=[credit_files.investigation_json(i) for i in found], total=len(found))


@api_route(
    "/credit/parties/<code>/investigations",
    methods=("POST",),
    summary="Record a credit investigation of a party",
    description="Body: any of the fields of an investigation, as text "
    '(`{"investigated_on": "2026-11-20", "registration_verified": "yes", '
    '"bank_reference": "good", "trade_references_good": "3", "insurer_grade": "7", '
    '"revenue": "1000000.00", "equity": "250000.00", "current_ratio": "1.6", '
    '"days_payable": "40"}`); integers are taken for the counts and grades.',
    request_body=request_json(
        {n: {"type": ["string", "integer", "null"]} for n in credit_files.INVESTIGATION_FIELDS}
    ),
    responses={
        201: json_response("The investigation", _OBJECT),
        400: "Every bad member named by its JSON path ($.insurer_grade: ...)",
        404: "No such party",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def investigation_add(code: str) -> ResponseReturnValue:
    body = json_body()
    problems: list[InvalidField] = []
    values: dict[str, str | int | None] = {}
    for name, value in body.items():
        if isinstance(value, bool) and name == "registration_verified":
            value = "yes" if value else "no"
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            problems.append(_not_text(name, value))
            continue
        values[name] = value
    with Session(get_engine()) as s:
        party = _party(s, code)
        pid, currency = party.id, party.currency
    if problems:  # name the members of the wrong type with every other bad one
        try:
            credit_files.check_investigation(values, currency, dt.datetime.now(dt.UTC).date())
        except CreditInputInvalid as exc:
            problems.extend(exc.problems)
        order = {n: i for i, n in enumerate(body)}
        problems.sort(key=lambda p: order.get(p.field, len(order)))
        _refuse_all(problems, lambda _p: "", None)
    try:
        view = credit_files.record_investigation(get_engine(), pid, values, current_actor())
    except SaidError as exc:
        _refuse(exc)
    return jsonify(credit_files.investigation_json(view)), 201


@api_route(
    "/credit/parties/<code>/rating",
    methods=("POST",),
    summary="Rate a party now from its newest investigation and behaviour",
    description="Stores the rating, puts the table's limit in force (an override set "
    "after the previous rating stays) and assesses the risk level.",
    responses={
        201: json_response("The rating and the party's credit", _OBJECT),
        404: "No such party",
        409: "No investigation to rate",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def rate_now(code: str) -> ResponseReturnValue:
    engine = get_engine()
    with Session(engine) as s:
        pid = _party(s, code).id
    try:
        rating.rate_party(engine, pid, current_actor())
    except SaidError as exc:
        abort_for(exc)
    with Session(engine) as s:
        return jsonify(credit_file_json(s, _party(s, code), dt.datetime.now(dt.UTC).date())), 201


@api_route(
    "/credit/parties/<code>/limit",
    methods=("PUT",),
    summary="Override a party's credit limit (finance; a reason is required)",
    description='Body `{"limit": "150000.00", "payment_days": 30, "reason": "bank '
    "guarantee\"}`; `limit` in major units of the party's currency.",
    request_body=request_json(
        {
            "limit": {"type": "string"},
            "payment_days": {"type": "integer", "minimum": 0, "maximum": 365},
            "reason": {"type": "string"},
        },
        ("limit", "payment_days", "reason"),
    ),
    responses={
        200: json_response("The limit in force", _OBJECT),
        400: "Every bad member named by its JSON path ($.limit, $.payment_days, $.reason)",
        404: "No such party",
    },
    roles=OVERRIDERS,
    tags=_TAGS,
)
def limit_override(code: str) -> ResponseReturnValue:
    body = json_body()
    with Session(get_engine()) as s:
        party = _party(s, code)
        pid, currency = party.id, party.currency
    try:
        minor, days, reason = limits.check_override(body, currency)
    except CreditInputInvalid as exc:
        _refuse_all(exc.problems, lambda _p: "", exc)
    try:
        view = limits.override_limit(get_engine(), pid, minor, days, reason, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(limits.limit_json(view))


@api_route(
    "/credit/parties/<code>/limit",
    methods=("DELETE",),
    summary="End a party's limit override: the table's limit for its latest rating again",
    responses={
        200: json_response("The limit in force", _OBJECT),
        404: "No such party",
        409: "No override in force, or never rated",
    },
    roles=OVERRIDERS,
    tags=_TAGS,
)
def limit_override_end(code: str) -> ResponseReturnValue:
    with Session(get_engine()) as s:
        pid = _party(s, code).id
    try:
        view = limits.remove_override(get_engine(), pid, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(limits.limit_json(view))


@api_route(
    "/credit/limit-table",
    summary="The credit limit table in force and its versions, newest first",
    responses={200: json_response("The table and its versions", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def table_get() -> ResponseReturnValue:
    with Session(get_engine()) as s:
        versions = limits.table_versions(s)
    return jsonify(
        in_force=limits.table_json(versions[0]), versions=[limits.table_json(v) for v in versions]
    )


@api_route(
    "/credit/limit-table",
    methods=("PUT",),
    summary="Store a new version of the credit limit table (finance, admin)",
    description='Body `{"currency": "EUR", "medium_factor": "0.5", "note": "...", "rows": '
    '{"AAA": {"limit": "500000.00", "payment_days": 60}, ...}}`: every grade '
    "(AAA, AA, A, BBB, BB, B, CCC), limits in major units of `currency`, days 0-365.",
    request_body=request_json(
        {
            "currency": {"type": "string"},
            "medium_factor": {"type": "string"},
            "note": {"type": "string"},
            "rows": {"type": "object"},
        },
        ("currency", "medium_factor", "rows"),
    ),
    responses={200: json_response("The new version", _OBJECT)},
    roles=WRITERS,
    tags=_TAGS,
)
def table_put() -> ResponseReturnValue:
    body = json_body()
    known(body, ("currency", "medium_factor", "note", "rows"))
    currency = text(body, "currency", required=True) or ""
    factor = text(body, "medium_factor", required=True) or ""
    note = text(body, "note") or ""
    rows = body.get("rows")
    if not isinstance(rows, dict):
        abort(400, "$.rows must be an object: grade -> {limit, payment_days}")
    for grade, cell in rows.items():
        if not isinstance(cell, dict):
            abort(400, f"$.rows.{grade} must be an object with limit and payment_days")
    try:
        view = limits.set_table(get_engine(), currency, rows, factor, note, current_actor())
    except SaidError as exc:
        if isinstance(exc, CreditInputInvalid):
            _refuse_all(
                exc.problems,
                lambda p: "" if p.field in ("currency", "medium_factor") else "rows.",
                exc,
            )
        abort_for(exc)
    return jsonify(limits.table_json(view))


@api_route(
    "/credit/model",
    summary="The rating model: weights in force and their versions, newest first",
    responses={200: json_response("The weights and their versions", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def model_get() -> ResponseReturnValue:
    with Session(get_engine()) as s:
        versions = rating.weights_versions(s)
    return jsonify(
        factors=list(rating.FACTORS),
        in_force=rating.weights_json(versions[0]),
        versions=[rating.weights_json(v) for v in versions],
    )


@api_route(
    "/credit/model",
    methods=("PUT",),
    summary="Store a new version of the rating model's weights (finance, admin)",
    description='Body `{"weights": {"registration": "0.10", ...}, "note": "..."}`: decimals '
    ">= 0 summing to exactly 1; a factor left out weighs 0.",
    request_body=request_json(
        {"weights": {"type": "object"}, "note": {"type": "string"}}, ("weights",)
    ),
    responses={200: json_response("The new version", _OBJECT)},
    roles=WRITERS,
    tags=_TAGS,
)
def model_put() -> ResponseReturnValue:
    body = json_body()
    known(body, ("weights", "note"))
    weights = body.get("weights")
    if not isinstance(weights, dict):
        abort(400, "$.weights must be an object: factor -> decimal text")
    for name, value in weights.items():
        if not isinstance(value, str):
            abort(400, f'$.weights.{name} must be decimal text such as "0.15"')
    try:
        view = rating.set_weights(get_engine(), weights, text(body, "note") or "", current_actor())
    except SaidError as exc:
        _refuse(exc, "weights.")
    return jsonify(rating.weights_json(view))
