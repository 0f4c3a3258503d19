"""FX rates: what one unit of a currency is worth in the reporting currency per month,
with the rate's source and as-of date; finance adds or replaces one."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import check_currency, check_date, check_month, check_rate
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

bp = Blueprint("fx", __name__, url_prefix="/finance/fx")

_FIELDS = ("period", "currency", "reporting_currency", "rate", "source", "as_of")


def _page(form: FormState, status: int = 200) -> ResponseReturnValue:
    filters = FormState.read(request.args, "period", "currency")
    rates, pager = service_page(
        settlement.list_fx_rates,
        filters,
        period=check_typed(filters, "period", "period", check_month),
        currency=check_typed(filters, "currency", "currency", check_currency),
    )
    return render_page(
        "finance/fx.html", status, rates=rates, pager=pager, filters=filters, form=form
    )


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return _page(FormState(values={"reporting_currency": "EUR", "source": "manual"}))


@bp.post("/")
@require_roles(*EDITORS)
def add() -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    v = form.values
    period = check(form, "period", "period", check_month, v["period"])
    currency = check(form, "currency", "currency", check_currency, v["currency"])
    reporting = check(
        form, "reporting_currency", "reporting currency", check_currency, v["reporting_currency"]
    )
    rate = check(form, "rate", "rate", check_rate, v["rate"])
    as_of = check(form, "as_of", "as of", check_date, v["as_of"]) if v["as_of"] else None
    if currency is not None and currency == reporting:
        form.errors["reporting_currency"] = (
            f"reporting currency: is {currency} too; a rate converts between two currencies"
        )
    if period is None or currency is None or reporting is None or rate is None:
        return _page(form, 422)
    write = partial(
        settlement.set_fx_rate, get_engine(), period, currency, reporting, rate, current_actor(),
        source=v["source"] or "manual", as_of=as_of, audit_source="page",
    )  # fmt: skip
    return submit(
        form,
        write,
        gettext(
            "FX rate for %(period)s saved: 1 %(currency)s = %(rate)s %(reporting)s.",
            period=period,
            currency=currency,
            rate=rate,
            reporting=reporting,
        ),
        url_for("fx.index", period=period),
        lambda: _page(form, 422),
    )
