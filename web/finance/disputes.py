"""Finance's queue of disputed statement lines: the longest waiting first, each with
the distributor's reason, and two ways to resolve it — an adjustment on the party's
next statement (booked pending; a second finance user approves it on the
adjustments page) or a written rejection the distributor reads. Auditors and
admins read the queue; only finance acts. The rules are in
:mod:`settlement.disputes`."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

import settlement
from settlement import InvalidValue, major_to_minor
from web.api.disputes import QUEUE_READERS
from web.db import get_engine
from web.finance._common import FormState, fetch_page, render_page
from web.i18n import page_words
from web.reasons import reason_sentence, reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["STATUS_TABS", "bp"]

bp = Blueprint("disputes", __name__, url_prefix="/finance/disputes")

#: The queue's tabs: status -> heading.
STATUS_TABS = {
    "open": _l("Waiting for finance"),
    "adjusted": _l("Resolved by an adjustment"),
    "rejected": _l("Rejected"),
}


def _page(forms: dict[int, FormState] | None = None, status: int = 200) -> ResponseReturnValue:
    tab = request.args.get("status", "open")
    if tab not in STATUS_TABS:
        tab = "open"
    rows, pager = fetch_page(
        lambda offset, limit: settlement.list_disputes(
            get_engine(),
            current_actor(),
            status=tab,
            offset=offset,
            limit=limit,
            words=page_words(),
        )
    )
    return render_page(
        "finance/disputes.html", status, rows=rows, pager=pager, tab=tab, tabs=STATUS_TABS,
        forms=forms or {},
    )  # fmt: skip


def _open(dispute_id: int) -> settlement.DisputeView:
    try:
        return settlement.get_dispute(get_engine(), dispute_id, current_actor())
    except settlement.SettlementError:
        abort(404)


@bp.get("/")
@require_roles(*QUEUE_READERS)
def index() -> ResponseReturnValue:
    return _page()


def _resolve(
    dispute_id: int,
    form: FormState,
    act: Callable[[], settlement.DisputeView],
    done: Callable[[settlement.DisputeView], str],
) -> ResponseReturnValue:
    """Run the resolution ``act``; the queue with ``done(view)`` said, the form's
    problem shown by its dispute, or (resolved meanwhile) the refusal above the queue."""
    try:
        view = act()
    except settlement.DisputeStateError as exc:
        flash(reason_sentence(exc), "error")
        return redirect(url_for("disputes.index"))
    except settlement.SettlementError as exc:
        form.problem = reason_words(exc)
        return _page({dispute_id: form}, 422)
    flash(done(view), "success")
    return redirect(url_for("disputes.index"))


@bp.post("/<id:dispute_id>/adjust")
@require_roles(Role.FINANCE)
def adjust(dispute_id: int) -> ResponseReturnValue:
    dispute = _open(dispute_id)
    form = FormState(values={k: request.form.get(k, "").strip() for k in ("amount", "note")})
    try:
        amount = major_to_minor(
            form.values["amount"], dispute.currency, "amount", negative=True, zero=False
        )
    except InvalidValue as exc:
        form.errors["amount"] = reason_words(exc)
        return _page({dispute_id: form}, 422)
    return _resolve(
        dispute_id,
        form,
        lambda: settlement.resolve_dispute_by_adjustment(
            get_engine(), dispute_id, amount, form.values["note"], current_actor()
        ),
        lambda view: gettext(
            "Line %(line)s of statement %(statement)s (%(party)s) resolved: adjustment"
            " %(adjustment)s of %(amount)s waits for a second finance user's approval,"
            " then the next run pays it.",
            line=view.line_number,
            statement=view.statement_id,
            party=view.party_code,
            adjustment=view.adjustment_id,
            amount=settlement.format_money(amount, view.currency),
        ),
    )


@bp.post("/<id:dispute_id>/reject")
@require_roles(Role.FINANCE)
def reject(dispute_id: int) -> ResponseReturnValue:
    _open(dispute_id)
    form = FormState(values={"reason": request.form.get("reason", "").strip()})
    return _resolve(
        dispute_id,
        form,
        lambda: settlement.reject_dispute(
            get_engine(), dispute_id, form.values["reason"], current_actor()
        ),
        lambda view: gettext(
            "Dispute of line %(line)s of statement %(statement)s (%(party)s) rejected;"
            " the distributor reads your reason.",
            line=view.line_number,
            statement=view.statement_id,
            party=view.party_code,
        ),
    )
