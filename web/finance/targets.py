"""Sales targets: what each distributor is expected to sell in a month, in units or in
value (its currency), the KPI gate's yardstick; finance adds or replaces one."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import check_month, check_positive_int, major_to_minor
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    FormState,
    check,
    check_typed,
    party_currency,
    render_page,
    service_page,
    submit,
)
from web.finance.party_field import check_party
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["bp"]

bp = Blueprint("targets", __name__, url_prefix="/finance/targets")


def _page(form: FormState, status: int = 200) -> ResponseReturnValue:
    filters = FormState.read(request.args, "party", "period")
    targets, pager = service_page(
        settlement.list_targets,
        filters,
        party_id=check_party(filters, required=False),
        period=check_typed(filters, "period", "period", check_month),
    )
    return render_page(
        "finance/targets.html", status, targets=targets, pager=pager, filters=filters, form=form
    )


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return _page(FormState(values={"measure": "units"}))


@bp.post("/")
@require_roles(*EDITORS)
def add() -> ResponseReturnValue:
    form = FormState.read(request.form, "party", "period", "measure", "amount")
    v = form.values
    party_id = check_party(form)
    period = check(form, "period", "period", check_month, v["period"])
    units = value = None
    if v["measure"] == "units":
        units = check(form, "amount", "target", check_positive_int, v["amount"])
    elif v["measure"] == "value":
        if party_id is not None:
            value = check(
                form, "amount", "target", major_to_minor, v["amount"], party_currency(party_id),
                zero=False,
            )  # fmt: skip
    else:
        form.errors["measure"] = "measure: choose units or value"
    if party_id is None or period is None or (units is None and value is None):
        return _page(form, 422)
    write = partial(
        settlement.set_target, get_engine(), party_id, period, current_actor(), units=units,
        value_minor=value, currency=party_currency(party_id) if value is not None else None,
        source="page",
    )  # fmt: skip
    return submit(
        form,
        write,
        gettext("Target for %(period)s saved.", period=period),
        url_for("targets.index", period=period),
        lambda: _page(form, 422),
    )
