"""Finance's reference data as JSON: price lists, FX rates, rebate programs, sales
targets, deposits, adjustments, payments, billing details, their history, and file
imports.

Roles: finance writes; finance, channel managers, auditors and admin read; a
distributor reads only its own deposit (anything else answers 404 or 403), warehouse
staff nothing. Lists answer ``{"items", "total", "limit", "offset", "next_cursor"}``
and take ``limit`` with ``offset`` or the ``cursor`` a previous page returned.
Amounts in request bodies are decimal text in major units (``"12.50"``), as in the
import files; answers carry minor units plus the currency. A refused import answers
422 with ``{"error", "status", "problems": [{"row", "column", "message"}]}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from sqlalchemy import select

import settlement
from ledger.models import Party
from partners.errors import PartnerError
from risk.bank_import import import_file
from risk.payments import record_payment
from web.api import (
    api_route,
    json_body,
    json_response,
    query_bool,
    query_param,
    query_str,
)
from web.api.openapi import CURSOR_PATTERN, RouteDecorator
from web.api.paging import page_params, page_window, paged, paged_response, window_of
from web.converters import ID_MAX
from web.db import get_engine, get_session
from web.errors import refuse
from web.i18n import DEFAULT_LOCALE, N_
from web.reasons import problem_words, reason_message, reason_words
from web.roles import Role
from web.settlement_access import abort_for, abort_reason, current_actor

__all__ = ["READERS", "WRITERS"]

READERS = (Role.FINANCE, Role.CHANNEL_MANAGER, Role.AUDITOR, Role.ADMIN)
WRITERS = (Role.FINANCE,)
MAX_IMPORT_BYTES = 20 * 1024 * 1024
T = TypeVar("T")

_TAGS = ("reference",)
_OBJECT = {"type": "object"}
_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"type": "object"}},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "next_cursor": {"type": ["string", "null"]},
    },
}
_PAGING = (
    query_param(
        "limit", minimum=1, maximum=500, default=50, description="Items per page (default 50)."
    ),
    query_param("offset", minimum=0, maximum=ID_MAX, default=0, description="Items to skip."),
    query_param(
        "cursor",
        "string",
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page (or the `cursor` of the `Link` header).",
    ),
)
_PROBLEMS = json_response(
    "The file or body was refused; nothing was stored",
    {
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "In English, whatever the language."},
            "message": {
                "type": "string",
                "description": "The error in the request's language; only when it is not English.",
            },
            "status": {"type": "integer"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "row": {"type": ["integer", "null"]},
                        "column": {"type": ["string", "null"]},
                        "message": {"type": "string", "description": "What is wrong, in English."},
                        "localized": {
                            "type": "string",
                            "description": "What is wrong in the request's language; only when"
                            " it is not English.",
                        },
                    },
                },
            },
        },
    },
)


def _body_schema(*fields: str) -> dict[str, Any]:
    props = {f: {"type": "string"} for f in fields}
    return {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "properties": props}}},
    }


def _string_params(*names: str) -> tuple[dict[str, Any], ...]:
    return tuple(query_param(name, "string") for name in names)


def _list_route(
    rule: str,
    summary: str,
    noun: str,
    *params: dict[str, Any],
    description: str = "",
) -> RouteDecorator[..., Any]:
    """GET ``rule`` for :data:`READERS`: a page of ``noun``, filtered by ``params``."""
    return api_route(
        rule,
        summary=summary,
        description=description,
        params=(*params, *_PAGING),
        responses={200: paged_response(f"A page of {noun}", _PAGE)},
        roles=READERS,
        tags=_TAGS,
    )


def _create_route(
    rule: str,
    summary: str,
    answer: str,
    fields: tuple[str, ...],
    *,
    description: str = "",
    not_found: str = "",
) -> RouteDecorator[..., Any]:
    """POST ``rule`` for :data:`WRITERS`: a JSON body of text ``fields`` that answers
    201 with ``answer``, 422 with the problems (and 404 ``not_found`` when given)."""
    responses: dict[int, Any] = {201: json_response(answer, _OBJECT)}
    if not_found:
        responses[404] = not_found
    responses[422] = _PROBLEMS
    return api_route(
        rule,
        methods=("POST",),
        summary=summary,
        description=description,
        request_body=_body_schema(*fields),
        responses=responses,
        roles=WRITERS,
        tags=_TAGS,
    )


# ------------------------------------------------------------------ helpers


def _paging() -> tuple[int, int]:
    return page_window()


def _listed(
    list_fn: Callable[..., tuple[Sequence[Any], int]], *args: str, **filters: Any
) -> ResponseReturnValue:
    """One page of a service list: ``list_fn(engine, actor, **filters, offset, limit)``;
    each query parameter named in ``args`` is a filter of the same name (empty: none)."""
    filters.update({name: query_str(name) for name in args})
    offset, limit = _paging()
    items, total = _call(
        lambda: list_fn(get_engine(), current_actor(), offset=offset, limit=limit, **filters)
    )
    return _page(items, total, offset, limit)


def _page(items: Sequence[Any], total: int, offset: int, limit: int) -> ResponseReturnValue:
    nxt = offset + len(items)
    body = jsonify(
        {
            "items": [dataclasses.asdict(i) for i in items],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": str(nxt) if nxt < total else None,
        }
    )
    return paged(body, total, offset, limit, len(items))


def _problems(problems: Sequence[settlement.ImportProblem], error: str, message: str) -> Response:
    """422 listing ``problems``: ``{"error", "status", "problems": [{"row", "column",
    "message"}]}`` in English as always; when the request's language is not English
    (see web/errors.py) also ``message`` (``message`` here, in that language) and each
    problem's ``localized`` (:func:`web.reasons.problem_words`). ``Content-Language``
    names the language either way."""
    language = str(get_locale() or DEFAULT_LOCALE)
    english = language == DEFAULT_LOCALE
    listed = []
    for p in problems:
        item: dict[str, Any] = {"row": p.row, "column": p.column, "message": p.message}
        if not english:
            item["localized"] = problem_words(p)
        listed.append(item)
    body: dict[str, Any] = {"error": error, "status": 422, "problems": listed}
    if not english:
        body["message"] = message
    response = jsonify(body)
    response.status_code = 422
    response.headers["Content-Language"] = language.replace("_", "-")
    return response


def _fail(exc: settlement.SettlementError, *, not_found: bool = False) -> NoReturn:
    if isinstance(exc, settlement.AdjustmentStateError):
        abort_reason(409, exc)
    abort_for(exc, not_found=not_found)


def _call(fn: Callable[[], T]) -> T:
    """Run a service call; a field error answers 422 with that field as the problem."""
    try:
        return fn()
    except settlement.InvalidValue as exc:
        abort(_invalid(exc))
    except settlement.SettlementError as exc:
        _fail(exc)


def _invalid(exc: settlement.InvalidValue) -> Response:
    """422 for a field's value: ``error`` is ``str(exc)`` (``field: why``), the one
    problem names the field as its ``column``; in another language than English
    ``message`` says the error in it (:func:`web.reasons.reason_words`, or the field
    and the problem's words) and the problem has ``localized`` (:func:`_problems`)."""
    problem = settlement.ImportProblem.of(None, exc.field, exc, exc.message)
    if reason_message(exc) is not None:
        message = reason_words(exc)
    else:
        message = gettext("%(field)s: %(reason)s", field=exc.field, reason=problem_words(problem))
    response = _problems([problem], str(exc), message)
    return response


def _field_error(name: str, message: str, **values: Any) -> NoReturn:
    """422 naming field ``name``: the catalogue ``message`` (``%(name)s`` is the
    field) in English as ``error``, in the request's language as ``message``
    (:func:`web.errors.refuse`)."""
    refuse(422, message, name=repr(name), **values)


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        _field_error(name, N_('%(name)s must be text; send amounts as decimal text like "12.50"'))
    if not isinstance(value, str):
        _field_error(name, N_("%(name)s must be text"))
    if required and not value.strip():
        _field_error(name, N_("%(name)s is required"))
    return value


def _party(code: str) -> Party:
    party = get_session().scalar(select(Party).where(Party.code == code.strip()))
    if party is None:
        english = "there is no party with code %(code)s"
        values = {"code": repr(code.strip())}
        abort(
            _invalid(
                settlement.InvalidValue(
                    "party", english % values, message_id="party_code_unknown", values=values
                )
            )
        )
    return party


def _party_filter() -> int | None:
    code = query_str("party")
    return _party(code).id if code else None


def _minor(text: str, currency: str, field: str, **kw: bool) -> int:
    return _call(lambda: settlement.major_to_minor(text, currency, field, **kw))


# ------------------------------------------------------------------ prices


@_list_route(
    "/prices",
    "Price-list versions, newest valid_from first",
    "prices",
    *_string_params("gtin", "currency", "on"),
    description="Filters: `gtin`, `currency`, `on` (YYYY-MM-DD: only the version in force that day).",
)
def prices_list() -> ResponseReturnValue:
    return _listed(settlement.list_prices, "gtin", "currency", "on")


@_create_route(
    "/prices",
    "Set a list price from a day (a new version, or replaces that day's)",
    "The price in force from valid_from",
    ("gtin", "currency", "valid_from", "list_price"),
    description="`gtin`, `currency`, `valid_from` (YYYY-MM-DD), `list_price` (major units, "
    "at most the currency's decimals).",
)
def price_create() -> ResponseReturnValue:
    b = json_body()
    gtin, ccy, day = _text(b, "gtin"), _text(b, "currency"), _text(b, "valid_from")
    currency = _call(lambda: settlement.check_currency(ccy))
    minor = _minor(_text(b, "list_price"), currency, "list_price")
    engine, actor = get_engine(), current_actor()
    _call(lambda: settlement.set_price(engine, gtin, currency, day, minor, actor, source="api"))
    items, _ = _call(
        lambda: settlement.list_prices(engine, actor, gtin=gtin, currency=currency, on=day, limit=1)
    )
    return jsonify(dataclasses.asdict(items[0])), 201


# ------------------------------------------------------------------ FX rates


@_list_route(
    "/fx-rates",
    "FX rates, newest period first, with their source and as-of day",
    "rates",
    *_string_params("period", "currency"),
)
def fx_list() -> ResponseReturnValue:
    return _listed(settlement.list_fx_rates, "period", "currency")


@_create_route(
    "/fx-rates",
    "Set the rate of a month: 1 currency = rate reporting_currency",
    "The rate",
    ("period", "currency", "reporting_currency", "rate", "source", "as_of"),
    description="`period` (YYYY-MM), `currency`, `reporting_currency`, `rate` (> 0), `source` "
    "(who quoted it), optional `as_of` (YYYY-MM-DD, default the month's last day).",
)
def fx_create() -> ResponseReturnValue:
    b = json_body()
    period, ccy, rep = _text(b, "period"), _text(b, "currency"), _text(b, "reporting_currency")
    rate, source = _text(b, "rate"), _text(b, "source")
    as_of = _text(b, "as_of", required=False) or None
    engine, actor = get_engine(), current_actor()
    _call(
        lambda: settlement.set_fx_rate(
            engine, period, ccy, rep, rate, actor, source=source, as_of=as_of, audit_source="api"
        )
    )
    items, _ = _call(lambda: settlement.list_fx_rates(engine, actor, period=period, currency=ccy))
    pair = [i for i in items if (i.currency, i.reporting_currency) == (ccy.upper(), rep.upper())]
    return jsonify(dataclasses.asdict(pair[0])), 201


# ------------------------------------------------------------------ targets


@_list_route(
    "/targets", "Sales targets, newest period first", "targets", *_string_params("party", "period")
)
def targets_list() -> ResponseReturnValue:
    return _listed(settlement.list_targets, "period", party_id=_party_filter())


@_create_route(
    "/targets",
    "Set a party's target for a month: units, or value in its currency",
    "The target",
    ("party", "period", "units", "value"),
    description="`party` (code), `period` (YYYY-MM), and `units` (whole number) or `value` "
    "(major units of the party's currency).",
)
def target_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    period = _text(b, "period")
    units_text, value_text = _text(b, "units", required=False), _text(b, "value", required=False)
    if bool(units_text.strip()) == bool(value_text.strip()):
        refuse(422, N_("give either 'units' or 'value', not both and not neither"))
    units = (
        _call(lambda: settlement.check_positive_int(units_text, "units"))
        if units_text.strip()
        else None
    )
    value = _minor(value_text, party.currency, "value", zero=False) if value_text.strip() else None
    engine, actor = get_engine(), current_actor()
    _call(
        lambda: settlement.set_target(
            engine, party.id, period, actor, units=units, value_minor=value, source="api"
        )
    )
    items, _ = _call(
        lambda: settlement.list_targets(engine, actor, party_id=party.id, period=period)
    )
    return jsonify(dataclasses.asdict(items[0])), 201


# ------------------------------------------------------------------ deposits


@_list_route(
    "/deposits",
    "Parties with a deposit: balance, agreed level, shortfall, open top-ups",
    "deposit states",
    description="Largest shortfall first. Amounts in minor units of each party's currency.",
)
def deposits_list() -> ResponseReturnValue:
    return _listed(settlement.list_deposit_parties)


@api_route(
    "/deposits/<party_code>",
    summary="One party's deposit with its newest movements (a distributor: its own)",
    responses={200: json_response("The deposit", _OBJECT), 404: "No such party"},
    roles=(*READERS, Role.DISTRIBUTOR),
    tags=_TAGS,
)
def deposit_detail(party_code: str) -> ResponseReturnValue:
    party = get_session().scalar(select(Party).where(Party.code == party_code))
    if party is None:
        abort(404)
    try:
        status = settlement.deposit_status(get_engine(), party.id, current_actor())
    except settlement.PermissionDenied as exc:
        abort_for(exc)
    except settlement.SettlementError as exc:
        _fail(exc, not_found=True)
    return jsonify(dataclasses.asdict(status))


@_create_route(
    "/deposits",
    "Record a deposit receipt or refund",
    "The party's deposit",
    ("party", "kind", "amount", "reason", "date"),
    description="`party` (code), `kind` (receipt | refund), `amount` (major units, > 0), "
    "`reason`, optional `date` (YYYY-MM-DD). A refund may not take the balance below zero.",
)
def deposit_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    kind = _text(b, "kind").strip().lower()
    if kind not in ("receipt", "refund"):
        abort(
            _invalid(
                settlement.InvalidValue.said(
                    "deposit_kind",
                    "%(value)s is not one of: receipt, refund",
                    field="kind",
                    value=repr(kind),
                )
            )
        )
    amount = _minor(_text(b, "amount"), party.currency, "amount", zero=False)
    reason, day = _text(b, "reason", required=False), _text(b, "date", required=False) or None
    engine, actor = get_engine(), current_actor()
    _call(
        lambda: settlement.record_deposit(
            engine, party.id, amount, reason, actor,
            kind="receipt" if kind == "receipt" else "refund", source="api", on=day,
        )
    )  # fmt: skip
    return jsonify(dataclasses.asdict(settlement.deposit_status(engine, party.id, actor))), 201


@_create_route(
    "/deposit-agreements",
    "Set the deposit a party agreed to hold from a day",
    "The party's deposit",
    ("party", "valid_from", "agreed_amount"),
    description="`party` (code), `valid_from` (YYYY-MM-DD), `agreed_amount` (major units).",
)
def deposit_agreement_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    amount = _minor(_text(b, "agreed_amount"), party.currency, "agreed_amount")
    day = _text(b, "valid_from")
    engine, actor = get_engine(), current_actor()
    _call(
        lambda: settlement.set_deposit_agreement(engine, party.id, day, amount, actor, source="api")
    )
    return jsonify(dataclasses.asdict(settlement.deposit_status(engine, party.id, actor))), 201


@_create_route(
    "/deposits/<party_code>/topups",
    "Ask a party to top its deposit up to the agreed level by a deadline",
    "The party's deposit",
    ("deadline", "reason"),
    not_found="No such party",
)
def topup_create(party_code: str) -> ResponseReturnValue:
    party = get_session().scalar(select(Party).where(Party.code == party_code))
    if party is None:
        abort(404)
    b = json_body()
    deadline, reason = _text(b, "deadline"), _text(b, "reason", required=False)
    engine, actor = get_engine(), current_actor()
    _call(lambda: settlement.request_topup(engine, party.id, deadline, actor, reason=reason))
    return jsonify(dataclasses.asdict(settlement.deposit_status(engine, party.id, actor))), 201


# ------------------------------------------------------------------ adjustments


@_list_route(
    "/adjustments",
    "Adjustments, newest first",
    "adjustments",
    query_param("status", "string", enum=["pending", "approved", "rejected"]),
    *_string_params("party"),
)
def adjustments_list() -> ResponseReturnValue:
    return _listed(settlement.list_adjustments, "status", party_id=_party_filter())


def _adjustment(adjustment_id: int) -> ResponseReturnValue:
    items, _ = settlement.list_adjustments(get_engine(), current_actor(), limit=1000)
    found = [a for a in items if a.id == adjustment_id]
    if not found:
        abort(404)
    return jsonify(dataclasses.asdict(found[0]))


@_create_route(
    "/adjustments",
    "Book an adjustment: a one-off line on the party's next statement (pending)",
    "The adjustment",
    ("party", "amount", "reason"),
    description="`party` (code), `amount` (major units; negative charges the party), `reason`. "
    "A second finance user approves it before a run applies it.",
)
def adjustment_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    amount = _minor(_text(b, "amount"), party.currency, "amount", negative=True, zero=False)
    reason = _text(b, "reason")
    engine, actor = get_engine(), current_actor()
    new_id = _call(
        lambda: settlement.add_adjustment(engine, party.id, amount, reason, actor, source="api")
    )
    items, _ = settlement.list_adjustments(engine, actor, party_id=party.id, limit=50)
    return jsonify(dataclasses.asdict(next(a for a in items if a.id == new_id))), 201


@api_route(
    "/adjustments/<id:adjustment_id>/approve",
    methods=("POST",),
    summary="Approve a pending adjustment (a finance user other than its author)",
    responses={
        200: json_response("The adjustment", _OBJECT),
        404: "No such adjustment",
        409: "Not allowed now",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def adjustment_approve(adjustment_id: int) -> ResponseReturnValue:
    try:
        settlement.approve_adjustment(get_engine(), adjustment_id, current_actor())
    except settlement.InvalidValue:
        abort(404)
    except settlement.SettlementError as exc:
        _fail(exc)
    return _adjustment(adjustment_id)


@api_route(
    "/adjustments/<id:adjustment_id>/reject",
    methods=("POST",),
    summary="Reject a pending adjustment with a reason",
    request_body=_body_schema("reason"),
    responses={
        200: json_response("The adjustment", _OBJECT),
        404: "No such adjustment",
        409: "Not allowed now",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def adjustment_reject(adjustment_id: int) -> ResponseReturnValue:
    reason = _text(json_body(), "reason")
    try:
        settlement.reject_adjustment(get_engine(), adjustment_id, reason, current_actor())
    except settlement.InvalidValue as exc:
        if exc.field == "adjustment":
            abort(404)
        abort(_invalid(exc))
    except settlement.SettlementError as exc:
        _fail(exc)
    return _adjustment(adjustment_id)


# ------------------------------------------------------------------ payments and billing


@_list_route("/payments", "Payments received, newest first", "payments", *_string_params("party"))
def payments_list() -> ResponseReturnValue:
    return _listed(settlement.list_payments, party_id=_party_filter())


@_create_route(
    "/payments",
    "Record money received from a party, allocated to its open items (docs/credit.md)",
    "The payment",
    ("party", "received_on", "amount", "reference"),
    description="`party` (code), `received_on` (YYYY-MM-DD), `amount` (major units, > 0), "
    "`reference` (the bank's).",
)
def payment_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    amount = _minor(_text(b, "amount"), party.currency, "amount", zero=False)
    day, ref = _text(b, "received_on"), _text(b, "reference")
    engine, actor = get_engine(), current_actor()
    try:  # allocated to the party's open items like every payment (risk.payments)
        view = record_payment(engine, party.id, amount, ref, actor, received_on=day, source="api")
    except PartnerError as exc:
        abort_for(exc)
    return jsonify(dataclasses.asdict(view)), 201


@_list_route(
    "/billing",
    "Billing details of parties (legal name, address, IBAN, BIC), by party code",
    "billing details",
)
def billing_list() -> ResponseReturnValue:
    return _listed(settlement.list_billing)


@_create_route(
    "/billing",
    "Set a party's billing details (IBAN checked by ISO 13616 mod 97, BIC by ISO 9362)",
    "The billing details",
    ("party", "legal_name", "address", "iban", "bic"),
)
def billing_create() -> ResponseReturnValue:
    b = json_body()
    party = _party(_text(b, "party"))
    fields = {
        name: _text(b, name, required=name in ("legal_name", "iban"))
        for name in ("legal_name", "address", "iban", "bic")
    }
    engine, actor = get_engine(), current_actor()
    _call(lambda: settlement.set_party_billing(engine, party.id, actor, source="api", **fields))
    billing = settlement.get_party_billing(engine, party.id, actor)
    return jsonify(dataclasses.asdict(billing) if billing else {}), 201


# ------------------------------------------------------------------ programs and history


@api_route(
    "/programs",
    summary="Rebate programs, each with its versions newest first",
    description="A page of programs (`limit`, `cursor`); `X-Total-Count` and `Link` as "
    "every list answers them.",
    params=page_params("programs"),
    responses={200: paged_response("The programs", {"type": "array", "items": _OBJECT})},
    roles=READERS,
    tags=_TAGS,
)
def programs_list() -> ResponseReturnValue:
    programs = _call(lambda: settlement.list_programs(get_engine(), current_actor()))
    offset, limit = page_window()
    body = [dataclasses.asdict(p) for p in window_of(programs, offset, limit)]
    return paged(jsonify(body), len(programs), offset, limit, len(body))


@api_route(
    "/programs",
    methods=("POST",),
    summary="Create a program or add its next version (a program file as JSON)",
    description="The body is a program file: `code`, `name`, `valid_from`, `valid_to` "
    "(YYYY-MM or null) and `rules` (docs/imports.md). The same rules and span as the "
    "latest version add nothing.",
    request_body={"required": True, "content": {"application/json": {"schema": _OBJECT}}},
    responses={200: json_response("The import report", _OBJECT), 422: _PROBLEMS},
    roles=WRITERS,
    tags=_TAGS,
)
def program_create() -> ResponseReturnValue:
    json_body()
    return _import("programs", "program.json", request.get_data(), dry_run=False)


@_list_route(
    "/reference-history",
    "Audited changes of reference data, newest first (who, when, before, after, source)",
    "changes",
    *_string_params("kind", "key"),
)
def history_list() -> ResponseReturnValue:
    return _listed(settlement.reference_history, "kind", "key")


# ------------------------------------------------------------------ imports


def _import(kind: str, filename: str, data: bytes, *, dry_run: bool) -> ResponseReturnValue:
    try:
        report = import_file(get_engine(), kind, filename, data, current_actor(), dry_run=dry_run)
    except settlement.ImportRejected as exc:
        return _problems(
            exc.problems,
            f"{filename}: nothing was imported",
            gettext("%(file)s: nothing was imported", file=filename),
        )
    except settlement.SettlementError as exc:
        _fail(exc)
    out = dataclasses.asdict(report)
    out["lines"] = [ln for ln in out["lines"] if ln["outcome"] != "unchanged"]
    return jsonify(out)


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


@api_route(
    "/imports/<kind>",
    methods=("POST",),
    summary="Import a file of reference data, all or nothing",
    description="`kind`: prices, fx (also the ECB reference-rate CSV), programs, targets, "
    "deposits, deposit-agreements, adjustments, payments, billing. Send the file as the raw "
    "body (`?filename=` names it), or as multipart field `file` with an optional `dry_run` "
    "field; `?dry_run=true` works for both. Layouts: docs/imports.md.",
    params=(
        query_param("dry_run", "boolean", default=False),
        query_param("filename", "string", maxLength=255),
    ),
    request_body={
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "dry_run": {"type": "boolean"},
                    },
                }
            },
        },
    },
    responses={
        200: json_response("What was created, updated and unchanged", _OBJECT),
        404: "No such kind",
        413: "File too large",
        422: _PROBLEMS,
    },
    roles=WRITERS,
    tags=_TAGS,
)
def import_upload(kind: str) -> ResponseReturnValue:
    if kind not in settlement.IMPORT_KINDS:
        abort(404, f"no import kind {kind!r}; one of: {', '.join(settlement.IMPORT_KINDS)}")
    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        abort(413, f"the file is larger than {MAX_IMPORT_BYTES >> 20} MiB")
    dry_run = query_bool("dry_run")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            abort(422, "send the file in the multipart field 'file'")
        filename, data = upload.filename, upload.read(MAX_IMPORT_BYTES + 1)
        dry_run = dry_run or _flag(request.form.get("dry_run"))
    else:
        filename = query_str("filename") or f"{kind}-upload"
        data = request.get_data()
    if len(data) > MAX_IMPORT_BYTES:
        abort(413, f"the file is larger than {MAX_IMPORT_BYTES >> 20} MiB")
    return _import(kind, filename, data, dry_run=dry_run)
