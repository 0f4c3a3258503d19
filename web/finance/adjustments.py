"""Adjustments: one-off lines on a distributor's next statement, with a reason. Finance
books one (pending); a second finance user approves it or anyone of finance rejects it.
The list shows pending ones with their actions, and approved ones with the run that
applied them (or "next run")."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

import settlement
from settlement import check_text, major_to_minor
from web.db import get_engine
from web.finance._common import (
    EDITORS,
    READERS,
    SERVICE_ERRORS,
    FormState,
    check,
    party_currency,
    render_page,
    service_page,
    submit,
)
from web.finance.party_field import check_party
from web.reasons import reason_words
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["STATUS_TABS", "bp"]

bp = Blueprint("adjustments", __name__, url_prefix="/finance/adjustments")

#: The list's tabs: status -> heading.
STATUS_TABS = {
    "pending": _l("Waiting for approval"),
    "approved": _l("Approved and applied"),
    "rejected": _l("Rejected"),
}


def _page(form: FormState, status: int = 200) -> ResponseReturnValue:
    tab = request.args.get("status", "pending")
    if tab not in STATUS_TABS:
        tab = "pending"
    rows, pager = service_page(settlement.list_adjustments, status=tab)
    return render_page(
        "finance/adjustments.html",
        status,
        rows=rows,
        pager=pager,
        tab=tab,
        tabs=STATUS_TABS,
        form=form,
        me_id=current_actor().user_id,
    )


@bp.get("/")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    return _page(FormState())


@bp.post("/")
@require_roles(*EDITORS)
def add() -> ResponseReturnValue:
    form = FormState.read(request.form, "party", "amount", "reason")
    v = form.values
    party_id = check_party(form)
    amount = None
    if party_id is not None:
        amount = check(
            form, "amount", "amount", major_to_minor, v["amount"], party_currency(party_id),
            negative=True, zero=False,
        )  # fmt: skip
    reason = check(form, "reason", "reason", check_text, v["reason"])
    if party_id is None or amount is None or reason is None:
        return _page(form, 422)
    return submit(
        form,
        partial(
            settlement.add_adjustment, get_engine(), party_id, amount, reason, current_actor(),
            source="page",
        ),
        lambda aid: (
            gettext(
                "Adjustment %(id)s booked; another finance user approves it before a run pays it.",
                id=aid,
            )
        ),
        url_for("adjustments.index"),
        lambda: _page(form, 422),
    )  # fmt: skip


@bp.post("/<id:adjustment_id>/approve")
@require_roles(*EDITORS)
def approve(adjustment_id: int) -> ResponseReturnValue:
    try:
        settlement.approve_adjustment(get_engine(), adjustment_id, current_actor())
    except SERVICE_ERRORS as exc:
        flash(reason_words(exc), "error")
    else:
        flash(
            gettext("Adjustment %(id)s approved: the next run applies it.", id=adjustment_id),
            "success",
        )
    return redirect(url_for("adjustments.index"))


@bp.post("/<id:adjustment_id>/reject")
@require_roles(*EDITORS)
def reject(adjustment_id: int) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    try:
        settlement.reject_adjustment(get_engine(), adjustment_id, reason, current_actor())
    except SERVICE_ERRORS as exc:
        flash(
            gettext(
                "Adjustment %(id)s not rejected: %(reason)s",
                id=adjustment_id,
                reason=reason_words(exc),
            ),
            "error",
        )
    else:
        flash(
            gettext("Adjustment %(id)s rejected; it will not reach a run.", id=adjustment_id),
            "success",
        )
    return redirect(url_for("adjustments.index"))
