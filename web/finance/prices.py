"""Price lists: every version of every product's list price per currency, filtered by
GTIN, currency or the day a version is in force; finance adds or replaces a version
with the price typed in major units (``12.50``). Each row links to its history."""

from __future__ import annotations

from datetime import date
from functools import partial

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import (
    check_currency,
    check_date,
    check_gtin,
    major_to_minor,
)
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    FormState,
    check,
    check_typed,
    render_page,
    service_page,
    submit,
)
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["bp"]

bp = Blueprint("prices", __name__, url_prefix="/finance/prices")

_FIELDS = ("gtin", "currency", "valid_from", "list_price")


def _page(form: FormState, status: int = 200) -> ResponseReturnValue:
    filters = FormState.read(request.args, "gtin", "currency", "on")
    prices, pager = service_page(
        settlement.list_prices,
        filters,
        gtin=check_typed(filters, "gtin", "GTIN", check_gtin),
        currency=check_typed(filters, "currency", "currency", check_currency),
        on=check_typed(filters, "on", "in force on", check_date),
    )
    return render_page(
        "finance/prices.html", status, prices=prices, pager=pager, filters=filters, form=form
    )


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return _page(FormState(values={"currency": "EUR", "valid_from": date.today().isoformat()}))


@bp.post("/")
@require_roles(*EDITORS)
def add() -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    v = form.values
    gtin = check(form, "gtin", "GTIN", check_gtin, v["gtin"])
    currency = check(form, "currency", "currency", check_currency, v["currency"])
    valid_from = check(form, "valid_from", "valid from", check_date, v["valid_from"])
    price = None
    if currency is not None:
        price = check(form, "list_price", "list price", major_to_minor, v["list_price"], currency)
    if gtin is None or currency is None or valid_from is None or price is None:
        return _page(form, 422)
    return submit(
        form,
        partial(
            settlement.set_price, get_engine(), gtin, currency, valid_from, price,
            current_actor(), source="page",
        ),
        gettext(
            "List price of %(gtin)s in %(currency)s from %(day)s saved: %(price)s.",
            gtin=gtin,
            currency=currency,
            day=valid_from,
            price=f"{currency} {settlement.format_minor(price, currency)}",
        ),
        url_for("prices.index", gtin=gtin),
        lambda: _page(form, 422),
    )  # fmt: skip
