"""Open items, payments, invoices and exposure as JSON (issue 13, area B; the rules are
in :mod:`risk.open_items`, :mod:`risk.exposure` and :mod:`risk.payments`).

- ``GET /credit/parties/{code}/exposure`` and ``.../open-items`` (``on``: as of a day);
- ``GET /credit/invoices`` (paged, ``party`` filter), ``POST /credit/invoices``;
- ``GET /credit/payments`` (paged, ``party`` filter), ``POST /credit/payments``.

Money is integer minor units of the party's currency, days ``YYYY-MM-DD`` (UTC).
Credit readers read every party; a distributor reads only its own (another party
answers 404, like one that does not exist). Finance and admins write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ledger.said import SaidError
from partners.values import InvalidField, check_text
from risk.exposure import exposure_in, exposure_json, readable_party
from risk.payments import list_invoices, list_payments, record_invoice, record_payment
from settlement.reference_values import MAX_MINOR
from web.api import (
    DAY_PATTERN,
    api_route,
    json_body,
    json_response,
    query_day,
    query_param,
    query_str,
)
from web.api.body import known, refuse, request_json
from web.api.evaluation import body_field
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__: list[str] = []

_OBJECT = {"type": "object"}
_TAGS = ("credit",)
READERS = (
    Role.FINANCE, Role.CHANNEL_MANAGER, Role.PARTNER_MANAGER, Role.AUDITOR, Role.ADMIN,
    Role.DISTRIBUTOR,
)  # fmt: skip
WRITERS = (Role.FINANCE, Role.ADMIN)
_ON = query_param(
    "on", "string", pattern=DAY_PATTERN, description="As of this day (default today)."
)
_PARTY = query_param("party", "string", maxLength=64, description="Party code.")


def _on() -> dt.date:
    return query_day("on") or dt.datetime.now(dt.UTC).date()


def _exposure(code: str) -> tuple[dict[str, Any], str]:
    day = _on()
    try:
        with Session(get_engine()) as s:
            party = readable_party(s, current_actor(), code)
            return exposure_json(exposure_in(s, party.id, day), party.code), day.isoformat()
    except SaidError as exc:
        abort_for(exc)


@api_route(
    "/credit/parties/<code>/exposure",
    summary="A party's exposure: open statements, invoices, deliveries, credit on account, "
    "limit, utilisation (per mille), aging and most days overdue",
    params=(_ON,),
    responses={200: json_response("The exposure", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def credit_party_exposure(code: str) -> ResponseReturnValue:
    body, day = _exposure(code)
    return jsonify({"on": day, **body})


@api_route(
    "/credit/parties/<code>/open-items",
    summary="A party's open items, oldest due first, with what is open and days overdue",
    params=(_ON,),
    responses={200: json_response("The open items", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def credit_party_open_items(code: str) -> ResponseReturnValue:
    body, day = _exposure(code)
    on = dt.date.fromisoformat(day)
    items = []
    for i in body["items"]:
        due = dt.date.fromisoformat(i["due_on"])
        items.append({**i, "days_overdue": max((on - due).days, 0)})
    return jsonify(on=day, party=code, currency=body["currency"], items=items, total=len(items))


def _party_id(code: str | None) -> int | None:
    if not code:
        return None
    try:
        with Session(get_engine()) as s:
            return readable_party(s, current_actor(), code).id
    except SaidError as exc:
        abort_for(exc)


def _body_party(code: str) -> int:
    """The id of the party a body's ``party`` names: 400 ``$.party`` when empty, 404
    when there is none (or a distributor's other party)."""
    try:
        check_text(code, "party", max_length=64)
    except InvalidField as exc:
        refuse(exc)
    pid = _party_id(code)
    assert pid is not None  # a non-empty code: found, or aborted
    return pid


def _amount(body: dict[str, Any]) -> int:
    """The body's ``amount_minor``: an integer (422 otherwise, like the other members);
    400 ``$.amount_minor`` when it is larger than any amount hopchain stores
    (:data:`settlement.reference_values.MAX_MINOR`, as the CSV import and forms say),
    never a database overflow. 0 or less is the service's 422."""
    amount: int = body_field(body, "amount_minor", int, required=True)
    if amount > MAX_MINOR:
        refuse(
            InvalidField.said(
                "amount_too_large",
                "%(value)s is larger than any amount hopchain stores",
                field="amount_minor",
                value=str(amount)[:30],
            )
        )
    return amount


def _listed(fn: Any) -> ResponseReturnValue:
    offset, limit = page_window()
    pid = _party_id(query_str("party"))
    try:
        rows, total = fn(get_engine(), current_actor(), party_id=pid, offset=offset, limit=limit)
    except SaidError as exc:
        abort_for(exc)
    body = jsonify(items=[dataclasses.asdict(r) for r in rows], total=total)
    return paged(body, total, offset, limit, len(rows))


@api_route(
    "/credit/invoices",
    summary="Trade invoices, newest first, with what settled them and what is open",
    params=(_PARTY, *page_params("invoices", maximum=200)),
    responses={200: paged_response("A page of invoices", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def credit_invoices_list() -> ResponseReturnValue:
    return _listed(list_invoices)


_INVOICE = ("party", "number", "issued_on", "due_on", "amount_minor", "description")


@api_route(
    "/credit/invoices",
    methods=("POST",),
    summary="Record a trade invoice of a party",
    description='Body `{"party": "CODE", "number": "INV-2026-001", "issued_on": "2026-11-01", '
    '"amount_minor": 125000, "description": "spare parts"}`; `due_on` defaults to the '
    "issue day plus the payment days in force (30 without a limit on file).",
    request_body=request_json(
        {
            "party": {"type": "string"},
            "number": {"type": "string"},
            "issued_on": {"type": "string", "format": "date"},
            "due_on": {"type": "string", "format": "date"},
            "amount_minor": {"type": "integer", "minimum": 1, "maximum": MAX_MINOR},
            "description": {"type": "string"},
        },
        ("party", "number", "issued_on", "amount_minor"),
    ),
    responses={
        201: json_response("The invoice", _OBJECT),
        400: "A member that cannot be stored, named by its $. path (an amount too large)",
        404: "No such party",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def credit_invoices_add() -> ResponseReturnValue:
    body = json_body()
    known(body, _INVOICE)
    code = body_field(body, "party", str, required=True)
    number = body_field(body, "number", str, required=True)
    issued = body_field(body, "issued_on", str, required=True)
    amount = _amount(body)
    due = body_field(body, "due_on", str)
    text = body_field(body, "description", str) or ""
    pid = _body_party(code)
    try:
        view = record_invoice(
            get_engine(), pid, number, issued_on=issued, due_on=due, amount_minor=amount,
            description=text, actor=current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    return jsonify(dataclasses.asdict(view)), 201


@api_route(
    "/credit/payments",
    summary="Payments received, newest first, with what each settled and what is on account",
    params=(_PARTY, *page_params("payments", maximum=200)),
    responses={200: paged_response("A page of payments", _OBJECT), 404: "No such party"},
    roles=READERS,
    tags=_TAGS,
)
def credit_payments_list() -> ResponseReturnValue:
    return _listed(list_payments)


_PAYMENT = ("party", "received_on", "amount_minor", "reference", "remittance", "payer_iban")


@api_route(
    "/credit/payments",
    methods=("POST",),
    summary="Record money received from a party; it settles the item it names, then the oldest due",
    description='Body `{"party": "CODE", "received_on": "2026-11-05", "amount_minor": 50000, '
    '"reference": "SEPA 7781", "remittance": "INV-2026-001"}`. The same party, day, amount '
    "and reference again answers the stored payment (200) instead of paying twice.",
    request_body=request_json(
        {
            "party": {"type": "string"},
            "received_on": {"type": "string", "format": "date"},
            "amount_minor": {"type": "integer", "minimum": 1, "maximum": MAX_MINOR},
            "reference": {"type": "string"},
            "remittance": {"type": "string"},
            "payer_iban": {"type": "string"},
        },
        ("party", "received_on", "amount_minor", "reference"),
    ),
    responses={
        201: json_response("The payment", _OBJECT),
        200: json_response("The same payment, stored before (not paid twice)", _OBJECT),
        400: "A member that cannot be stored, named by its $. path (an amount too large)",
        404: "No such party",
    },
    roles=WRITERS,
    tags=_TAGS,
)
def credit_payments_add() -> ResponseReturnValue:
    body = json_body()
    known(body, _PAYMENT)
    code = body_field(body, "party", str, required=True)
    day = body_field(body, "received_on", str, required=True)
    amount = _amount(body)
    reference = body_field(body, "reference", str, required=True)
    pid = _body_party(code)
    _, before = list_payments(get_engine(), current_actor(), party_id=pid, limit=1)
    try:
        view = record_payment(
            get_engine(), pid, amount, reference, current_actor(), received_on=day,
            remittance=body_field(body, "remittance", str) or "",
            payer_iban=body_field(body, "payer_iban", str) or "", source="api",
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    _, after = list_payments(get_engine(), current_actor(), party_id=pid, limit=1)
    return jsonify(dataclasses.asdict(view)), 201 if after > before else 200
