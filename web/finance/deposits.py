"""Deposits: each distributor's balance against its agreed level, what is short and the
open top-up requests with their deadlines; one distributor's page with its movements,
where finance records a receipt or refund, sets the agreed level and asks for a top-up.
Amounts are typed in major units of the distributor's currency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Literal

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import check_date, check_text, major_to_minor
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    FormState,
    check,
    party_currency,
    render_page,
    service_page,
    submit,
)
from web.finance.party_field import check_party
from web.security import require_roles
from web.settlement_access import abort_for, current_actor

__all__ = ["bp"]

bp = Blueprint("deposits", __name__, url_prefix="/finance/deposits")

#: Movements shown on a distributor's page, newest first.
MOVEMENTS_SHOWN = 100


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    pick = FormState.read(request.args, "party")  # ?party=CODE opens that distributor
    chosen = check_party(pick, required=False)
    if chosen is not None:
        return redirect(url_for("deposits.party", party_id=chosen))
    rows, pager = service_page(settlement.list_deposit_parties)
    return render_page("finance/deposits.html", rows=rows, pager=pager, pick=pick)


def _party_page(
    party_id: int,
    *,
    movement: FormState | None = None,
    agreement: FormState | None = None,
    topup: FormState | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    try:
        dep = settlement.deposit_status(
            get_engine(), party_id, current_actor(), movements=MOVEMENTS_SHOWN
        )
    except settlement.PermissionDenied as exc:
        abort_for(exc)
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)
    today = date.today().isoformat()
    return render_page(
        "finance/deposit.html",
        status,
        dep=dep,
        party_id=party_id,
        shown=MOVEMENTS_SHOWN,
        movement=movement or FormState(values={"kind": "receipt", "date": today}),
        agreement=agreement or FormState(values={"valid_from": today}),
        topup=topup or FormState(),
    )


@bp.get("/<id:party_id>")
@require_roles(*READERS)
def party(party_id: int) -> ResponseReturnValue:
    return _party_page(party_id)


def _apply(
    party_id: int, which: str, form: FormState, write: Callable[[], object] | None, done: str
) -> ResponseReturnValue:
    """:func:`submit` on the party's page: back to it with ``done`` flashed, or that
    page again with the form ``which`` and its problems (422)."""
    return submit(
        form,
        write,
        done,
        url_for("deposits.party", party_id=party_id),
        lambda: _party_page(party_id, status=422, **{which: form}),
    )


@bp.post("/<id:party_id>/movements")
@require_roles(*EDITORS)
def movement(party_id: int) -> ResponseReturnValue:
    ccy = party_currency(party_id)
    form = FormState.read(request.form, "kind", "amount", "date", "reason")
    v = form.values
    kind: Literal["receipt", "refund"] = "refund" if v["kind"] == "refund" else "receipt"
    if v["kind"] != kind:
        form.errors["kind"] = "kind: choose receipt or refund"
    amount = check(form, "amount", "amount", major_to_minor, v["amount"], ccy, zero=False)
    on = check(form, "date", "date", check_date, v["date"]) if v["date"] else None
    reason = check(form, "reason", "reason", check_text, v["reason"], required=False)
    write = None
    if amount is not None and reason is not None:
        write = partial(
            settlement.record_deposit, get_engine(), party_id, amount, reason, current_actor(),
            kind=kind, source="page", on=on,
        )  # fmt: skip
    return _apply(
        party_id, "movement", form, write, f"{kind.capitalize()} of {ccy} {v['amount']} recorded."
    )


@bp.post("/<id:party_id>/agreement")
@require_roles(*EDITORS)
def agreement(party_id: int) -> ResponseReturnValue:
    ccy = party_currency(party_id)
    form = FormState.read(request.form, "valid_from", "agreed_amount")
    v = form.values
    valid_from = check(form, "valid_from", "valid from", check_date, v["valid_from"])
    agreed = check(form, "agreed_amount", "agreed level", major_to_minor, v["agreed_amount"], ccy)
    write = None
    if valid_from is not None and agreed is not None:
        write = partial(
            settlement.set_deposit_agreement, get_engine(), party_id, valid_from, agreed,
            current_actor(), source="page",
        )  # fmt: skip
    done = gettext(
        "Agreed deposit of %(amount)s from %(day)s saved.",
        amount=f"{ccy} {v['agreed_amount']}",
        day=v["valid_from"],
    )
    return _apply(party_id, "agreement", form, write, done)


@bp.post("/<id:party_id>/topups")
@require_roles(*EDITORS)
def topup(party_id: int) -> ResponseReturnValue:
    form = FormState.read(request.form, "deadline", "reason")
    v = form.values
    deadline = check(form, "deadline", "deadline", check_date, v["deadline"])
    reason = check(form, "reason", "reason", check_text, v["reason"], required=False)
    write = None
    if deadline is not None and reason is not None:
        write = partial(
            settlement.request_topup, get_engine(), party_id, deadline, current_actor(),
            reason=reason,
        )  # fmt: skip
    return _apply(
        party_id, "topup", form, write, gettext("Top-up requested, due %(day)s.", day=v["deadline"])
    )
