"""Billing details per distributor: legal name, postal address and bank account (IBAN,
BIC) that statements and payment files use; finance sets them, readers see them."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from settlement import check_bic, check_iban, check_text
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    FormState,
    check,
    render_page,
    service_page,
    submit,
)
from web.finance.party_field import check_party
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["bp"]

bp = Blueprint("billing", __name__, url_prefix="/finance/billing")

_FIELDS = ("party", "legal_name", "address", "iban", "bic")


def _page(form: FormState, status: int = 200) -> ResponseReturnValue:
    rows, pager = service_page(settlement.list_billing)
    return render_page("finance/billing.html", status, rows=rows, pager=pager, form=form)


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    form = FormState.read(request.args, "party")  # ?party=CODE: "change" of a row
    party_id = check_party(form, required=False)
    if party_id is not None:  # "edit": the form starts from what is on file
        try:
            found = settlement.get_party_billing(get_engine(), party_id, current_actor())
        except settlement.SettlementError:
            found = None
        if found is not None:
            form.values.update(
                legal_name=found.legal_name, address=found.address, iban=found.iban, bic=found.bic
            )
    return _page(form)


@bp.post("/")
@require_roles(*EDITORS)
def save() -> ResponseReturnValue:
    form = FormState.read(request.form, *_FIELDS)
    v = form.values
    party_id = check_party(form)
    legal_name = check(
        form, "legal_name", "legal name", check_text, v["legal_name"], max_length=200
    )
    address = check(
        form, "address", "address", check_text, v["address"], required=False, max_length=1000
    )
    iban = check(form, "iban", "IBAN", check_iban, v["iban"])
    bic = check(form, "bic", "BIC", check_bic, v["bic"]) if v["bic"] else ""
    if party_id is None or legal_name is None or address is None or iban is None or bic is None:
        return _page(form, 422)
    write = partial(
        settlement.set_party_billing, get_engine(), party_id, current_actor(),
        legal_name=legal_name, address=address, iban=iban, bic=bic, source="page",
    )  # fmt: skip
    return submit(
        form,
        write,
        gettext("Billing details of %(name)s saved.", name=legal_name),
        url_for("billing.index"),
        lambda: _page(form, 422),
    )
