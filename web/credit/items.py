"""Open items, invoices, payments and exposure pages (issue 13, area B).

- ``credit_items.index`` (``/credit/items/``): the aging board, a stacked bar per
  aging bucket (ECharts, by kind of item, one chart per currency) and beside it the
  table of every distributor (paginated): exposure, limit, utilisation, each
  bucket; totals per currency.
- ``credit_items.party`` (``/credit/items/parties/<code>``): a party's items, what
  settled each, and (finance) the write-off form.
- ``credit_items.invoices``: trade invoices (paginated) and the form to record one.
- ``credit_items.payments``: payments received (paginated), the form to record one
  and the link to the bank statement import (dry run first).
- ``credit_items.mine``: a distributor's own limit, exposure and open items.

The rules are :mod:`risk.open_items`, :mod:`risk.exposure` and :mod:`risk.payments`;
this module reads forms and draws.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Party
from ledger.said import SaidError
from partners.errors import PartnerNotFound
from risk.exposure import AGING_BUCKETS, Exposure, exposure_in, exposures_in, readable_party
from risk.payments import (
    allocations_of,
    list_invoices,
    list_payments,
    record_invoice,
    record_payment,
    write_off,
)
from settlement.reference_values import InvalidValue, major_to_minor
from web.credit._words import payment_source_words, refusal_words
from web.db import get_engine
from web.finance._common import FormState
from web.paging import page_request
from web.partners import _pages as pages
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor

__all__ = ["BUCKET_WORDS", "KIND_WORDS", "bp"]

bp = Blueprint("credit_items", __name__, url_prefix="/credit/items")

#: Who reads the aging board, the invoices, the payments and a party's items (the
#: nav's "Open items"; docs/credit.md): a distributor reads only its own items.
BOARD = (Role.FINANCE, Role.AUDITOR, Role.ADMIN)
WRITERS = (Role.FINANCE, Role.ADMIN)
KIND_WORDS = {"statement": _l("Statement"), "invoice": _l("Invoice"), "delivery": _l("Delivery")}
BUCKET_WORDS = {
    "current": _l("Not yet due"),
    "1-30": _l("1-30 days"),
    "31-60": _l("31-60 days"),
    "61-90": _l("61-90 days"),
    "90+": _l("over 90 days"),
}
_INVOICE_FIELDS = ("party", "number", "issued_on", "due_on", "amount", "description")
_PAYMENT_FIELDS = ("party", "received_on", "amount", "reference", "remittance")
_WRITE_OFF_FIELDS = ("item", "amount", "reason")
#: The forms' labels by field key (a refusal names its field with these words).
FIELD_LABELS: dict[str, object] = {
    "party": _l("Party code"),
    "number": _l("Invoice number"),
    "issued_on": _l("Issued on"),
    "due_on": _l("Due on"),
    "amount": _l("Amount"),
    "amount_minor": _l("Amount"),
    "description": _l("Description"),
    "received_on": _l("Received on"),
    "reference": LazyString(lambda: pgettext("payment", "Bank reference")),
    "remittance": _l("Remittance text"),
    "item": _l("Item"),
    "on": _l("Item"),
    "reason": _l("Reason"),
}


def _today() -> dt.date:
    return pages.today()


def _render(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(
            template,
            can_write=pages.role() in {r.value for r in WRITERS},
            kind_words=KIND_WORDS,
            bucket_words=BUCKET_WORDS,
            buckets=AGING_BUCKETS,
            linked=pages.linked,
            today=_today(),
            source_words=payment_source_words,
            **context,
        ),
        status,
    )


def _keep(form: FormState, exc: SaidError) -> None:
    """The refusal next to the input it names, else above the form."""
    named = exc.values.get("field", "")
    aliases = {"received_on": "received_on", "amount_minor": "amount", "on": "item"}
    name = aliases.get(named, named)
    if name in form.values:
        form.errors[name] = refusal_words(exc, FIELD_LABELS)
    else:
        form.problem = refusal_words(exc, FIELD_LABELS)


def _amount(form: FormState, name: str, currency: str, *, required: bool = True) -> int | None:
    text = form.values.get(name, "")
    if not text and not required:
        return None
    try:
        return major_to_minor(text, currency, name, zero=False)
    except InvalidValue as exc:
        form.errors[name] = refusal_words(exc, FIELD_LABELS)
        return None


def _party(code: str) -> Party:
    with Session(get_engine()) as s:
        party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        abort_for(PartnerNotFound.said("no_credit_party", "no party %(party)s", party=code))
    return party


# ------------------------------------------------------------------ the aging board


def _chart(currency: str, exposures: list[Exposure], on: dt.date) -> dict[str, Any]:
    """A stacked bar per aging bucket, stacked by kind of item, of one currency."""
    by_kind = {k: dict.fromkeys(AGING_BUCKETS, 0) for k in KIND_WORDS}
    from risk.exposure import aging_bucket

    for e in exposures:
        for i in e.items:
            by_kind[i.kind][aging_bucket(i.days_overdue(on))] += i.open_minor
    from settlement.rules.money import minor_exponent

    scale = 10 ** minor_exponent(currency)
    return {
        "id": f"aging-{currency}",
        "currency": currency,
        "categories": [str(BUCKET_WORDS[b]) for b in AGING_BUCKETS],
        "series": [
            {
                "name": str(KIND_WORDS[k]),
                "data": [by_kind[k][b] / scale for b in AGING_BUCKETS],
                "minor": [by_kind[k][b] for b in AGING_BUCKETS],
            }
            for k in KIND_WORDS
        ],
    }


@bp.get("/", endpoint="index")
@require_roles(*BOARD)
def index() -> ResponseReturnValue:
    """Every distributor's exposure by age (``?on=YYYY-MM-DD``, ``?page=``)."""
    raw = request.args.get("on", "").strip()
    try:
        on = dt.date.fromisoformat(raw) if raw else _today()
    except ValueError:
        on = _today()
    with Session(get_engine()) as s:
        every = exposures_in(s, None, on)
        parties = {p.id: p for p in s.scalars(select(Party).where(Party.id.in_(list(every))))}
    rows = sorted(
        every.values(), key=lambda e: (-e.total_minor, parties[e.party_id].code)
    )  # the most exposed first
    totals: dict[str, dict[str, int]] = {}
    for e in rows:
        t = totals.setdefault(e.currency, {"total": 0, **dict.fromkeys(AGING_BUCKETS, 0)})
        t["total"] += e.total_minor
        for b in AGING_BUCKETS:
            t[b] += e.aging[b]
    charts = [
        _chart(ccy, [e for e in rows if e.currency == ccy], on)
        for ccy in sorted(totals)
        if any(totals[ccy][b] for b in AGING_BUCKETS)
    ]
    pager = page_request().with_total(len(rows))
    return _render(
        "credit/items/index.html",
        rows=rows[pager.offset : pager.offset + pager.size],
        parties=parties,
        pager=pager,
        totals=totals,
        charts=charts,
        on=on,
    )


# ------------------------------------------------------------------ a party's items


def _party_page(
    code: str, form: FormState, status: int = 200, *, mine: bool = False
) -> ResponseReturnValue:
    on = _today()
    try:
        with Session(get_engine()) as s:
            party = readable_party(s, current_actor(), code)
            exposure = exposure_in(s, party.id, on)
            allocs = allocations_of(s, party.id)
            from risk.open_items import items_in

            everything = items_in(s, [party.id], on)[party.id].items
    except SaidError as exc:
        abort_for(exc)
    return _render(
        "credit/items/party.html",
        status,
        party=party,
        e=exposure,
        items=everything,
        allocations=allocs,
        form=form,
        mine=mine,
    )


@bp.get("/parties/<code>", endpoint="party")
@require_roles(*BOARD, Role.DISTRIBUTOR)
def party_items(code: str) -> ResponseReturnValue:
    """A party's items (settled ones too), what settled each, the write-off form."""
    return _party_page(code, FormState.read(request.args, *_WRITE_OFF_FIELDS))


@bp.post("/parties/<code>/write-off")
@require_roles(*WRITERS)
def write_off_item(code: str) -> ResponseReturnValue:
    form = FormState.read(request.form, *_WRITE_OFF_FIELDS)
    party = _party(code)
    amount = _amount(form, "amount", party.currency, required=False)
    if not form.values["reason"]:
        form.errors["reason"] = gettext("Say why it will not be paid.")
    if form.failed:
        return _party_page(code, form, 422)
    try:
        write_off(
            get_engine(), party.id, form.values["item"], amount, form.values["reason"],
            current_actor(), on=_today(),
        )  # fmt: skip
    except SaidError as exc:
        _keep(form, exc)
        return _party_page(code, form, 422)
    flash(gettext("%(item)s written off.", item=form.values["item"]), "success")
    return redirect(url_for("credit_items.party", code=code))


@bp.get("/mine", endpoint="mine")
@require_roles(Role.DISTRIBUTOR)
def mine() -> ResponseReturnValue:
    """The distributor's own limit, exposure and open items with their due days."""
    actor = current_actor()
    if actor.party_id is None:
        abort(404)
    with Session(get_engine()) as s:
        own = s.get(Party, actor.party_id)
    if own is None:
        abort(404)
    return _party_page(own.code, FormState(), mine=True)


# ------------------------------------------------------------------ invoices


def _listed(
    lister: Callable[..., tuple[list[Any], int]], template: str, form: FormState, status: int
) -> ResponseReturnValue:
    """A page of ``lister``'s rows (invoices or payments) with the record form."""
    pager = page_request()
    try:
        rows, total = lister(get_engine(), current_actor(), offset=pager.offset, limit=pager.size)
    except SaidError as exc:
        abort_for(exc)
    return _render(template, status, rows=rows, pager=pager.with_total(total), form=form)


def _form_party(form: FormState) -> Party | None:
    """The party the form's ``party`` code names; None with the field's error if none."""
    code = form.values["party"]
    with Session(get_engine()) as s:
        party = s.scalar(select(Party).where(Party.code == code))
    if party is None:
        form.errors["party"] = gettext("There is no party with code %(code)s.", code=code)
    return party


def _invoices(form: FormState, status: int = 200) -> ResponseReturnValue:
    return _listed(list_invoices, "credit/items/invoices.html", form, status)


@bp.get("/invoices", endpoint="invoices")
@require_roles(*BOARD)
def invoices() -> ResponseReturnValue:
    form = FormState.read(request.args, *_INVOICE_FIELDS)
    form.values["issued_on"] = form.values["issued_on"] or _today().isoformat()
    return _invoices(form)


@bp.post("/invoices")
@require_roles(*WRITERS)
def invoice_add() -> ResponseReturnValue:
    form = FormState.read(request.form, *_INVOICE_FIELDS)
    v = form.values
    party = _form_party(form)
    if party is None:
        return _invoices(form, 422)
    amount = _amount(form, "amount", party.currency)
    if form.failed or amount is None:
        return _invoices(form, 422)
    try:
        view = record_invoice(
            get_engine(), party.id, v["number"], issued_on=v["issued_on"],
            due_on=v["due_on"] or None, amount_minor=amount, description=v["description"],
            actor=current_actor(),
        )  # fmt: skip
    except SaidError as exc:
        _keep(form, exc)
        return _invoices(form, 422)
    flash(
        gettext("Invoice %(number)s recorded, due %(due)s.", number=view.number, due=view.due_on),
        "success",
    )
    return redirect(url_for("credit_items.invoices"))


# ------------------------------------------------------------------ payments


def _payments(form: FormState, status: int = 200) -> ResponseReturnValue:
    return _listed(list_payments, "credit/items/payments.html", form, status)


@bp.get("/payments", endpoint="payments")
@require_roles(*BOARD)
def payments() -> ResponseReturnValue:
    form = FormState.read(request.args, *_PAYMENT_FIELDS)
    form.values["received_on"] = form.values["received_on"] or _today().isoformat()
    return _payments(form)


@bp.post("/payments")
@require_roles(*WRITERS)
def payment_add() -> ResponseReturnValue:
    form = FormState.read(request.form, *_PAYMENT_FIELDS)
    v = form.values
    party = _form_party(form)
    if party is None:
        return _payments(form, 422)
    amount = _amount(form, "amount", party.currency)
    if form.failed or amount is None:
        return _payments(form, 422)
    try:
        view = record_payment(
            get_engine(), party.id, amount, v["reference"], current_actor(),
            received_on=v["received_on"], remittance=v["remittance"], source="page",
        )  # fmt: skip
    except SaidError as exc:
        _keep(form, exc)
        return _payments(form, 422)
    flash(
        gettext("Payment recorded: %(count)s items settled.", count=len(view.allocations)),
        "success",
    )
    return redirect(url_for("credit_items.payments"))
