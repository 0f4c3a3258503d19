"""Money out and money in, as pages.

Finance (blueprint ``money``, under ``/finance``): a posted run's journal totals
with the journal CSV, its payment plan with the pain.001 file and the exclusions
report; receivables and deposits of every party and one party's account; accruals
with the tier watchlist. Channel managers, auditors and admins read the accounts
and accruals; journals and payment plans are finance's, admins' and auditors'; only
finance makes a payment file.

Distributors (blueprint ``portal_money``, under ``/partner``): "My account" (what
it owes, what it holds, what was deducted) and "Accruals" (its own rows).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

import settlement
from settlement import Accruals, chart_from_env, journal_summary, list_accounts, month_of, now_ms
from web import page_params
from web.api.money import (
    MONEY_READERS,
    accruals_for,
    existing_run,
    next_business_day,
    payment_file_response,
    visible_account,
    visible_plan,
)
from web.db import get_engine
from web.errors import localized_message, message_of
from web.i18n import N_
from web.paging import page_request
from web.roles import Role
from web.security import require_roles
from web.settlement_access import FINANCE_READERS, abort_for, current_actor, format_ms

__all__ = ["bp", "portal_bp"]

bp = Blueprint("money", __name__, url_prefix="/finance")
portal_bp = Blueprint("portal_money", __name__, url_prefix="/partner")
WATCHLIST_SIZE = 20


def _helpers() -> dict[str, Any]:
    return {"format_ms": format_ms}


bp.context_processor(_helpers)
portal_bp.context_processor(_helpers)


@bp.record_once
def _register_portal(state: Any) -> None:
    """The portal pages travel with this module: one entry in ``BLUEPRINT_MODULES``."""
    state.app.register_blueprint(portal_bp)


# ------------------------------------------------------------------ a run's money


def _run_page(run_id: int, problem: str = "", status: int = 200) -> ResponseReturnValue:
    run = existing_run(run_id)
    try:
        journal = journal_summary(
            get_engine(), run_id, current_actor(), chart=chart_from_env(os.environ)
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template(
        "finance/journal.html",
        run=run,
        journal=journal,
        plan=visible_plan(run_id),
        execution_date=next_business_day(datetime.now(UTC).date()).isoformat(),
        can_pay=current_actor().role == Role.FINANCE.value,
        problem=problem,
    ), status


@bp.get("/runs/<id:run_id>/money")
@require_roles(*FINANCE_READERS)
def run_money(run_id: int) -> ResponseReturnValue:
    return _run_page(run_id)


@bp.post("/runs/<id:run_id>/payment-file")
@require_roles(Role.FINANCE)
def payment_file(run_id: int) -> ResponseReturnValue:
    try:
        return payment_file_response(run_id, request.form.get("execution_date", ""))
    except HTTPException as exc:
        if exc.code in (403, 404, 409):
            raise
        text = message_of(exc)
        return _run_page(run_id, text[:1].upper() + text[1:], 422)


# ------------------------------------------------------------------ accounts


@bp.get("/accounts")
@require_roles(*MONEY_READERS)
def accounts() -> ResponseReturnValue:
    pager = page_request()
    try:
        rows, total = list_accounts(
            get_engine(), current_actor(), offset=pager.offset, limit=pager.size
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    if not rows and total:  # a page past the end: show the last one
        pager = pager.with_total(total)
        rows, total = list_accounts(
            get_engine(), current_actor(), offset=pager.offset, limit=pager.size
        )
    return render_template("finance/accounts.html", rows=rows, pager=pager.with_total(total))


def _account_page(template: str, party_id: int) -> ResponseReturnValue:
    pager = page_request()
    acc = visible_account(party_id, pager.offset, pager.size)
    pager = pager.with_total(acc.movement_count)
    if not acc.movements and acc.movement_count:
        acc = visible_account(party_id, pager.offset, pager.size)
    return render_template(template, acc=acc, pager=pager)


@bp.get("/accounts/<id:party_id>")
@require_roles(*MONEY_READERS)
def account(party_id: int) -> ResponseReturnValue:
    return _account_page("finance/account.html", party_id)


# ------------------------------------------------------------------ accruals


def _accruals_page(template: str, endpoint: str) -> ResponseReturnValue:
    period = request.args.get("period", "").strip() or month_of(now_ms())
    day = request.args.get("day", "").strip()
    acc: Accruals | None = None
    problem = ""
    status = 200
    try:  # the month and day in words naming the field, before the engine sees them
        period = page_params.period("period", N_("Month"), period, "month")
        if day:
            page_params.day("day", N_("Day"), day)
        acc = accruals_for(period, day)
    except HTTPException as exc:
        if exc.code in (401, 403, 404):
            raise
        text = localized_message(exc)
        problem = text[:1].upper() + text[1:]
        # a well-formed request whose figures need data not on file yet (FX rates,
        # a checkpoint, a program) is a page that explains, not a refused request
        status = 200 if isinstance(exc.__cause__, settlement.NotComputable) else 422
    pager = page_request().with_total(len(acc.rows) if acc else 0)
    rows = acc.rows[pager.offset : pager.offset + pager.size] if acc else ()
    return render_template(
        template,
        acc=acc,
        rows=rows,
        watch_rows=acc.watchlist[:WATCHLIST_SIZE] if acc else (),
        pager=pager,
        period=period,
        day=day,
        problem=problem,
        endpoint=endpoint,
    ), status


@bp.get("/accruals")
@require_roles(*MONEY_READERS)
def accruals() -> ResponseReturnValue:
    return _accruals_page("finance/accruals.html", "money.accruals")


# ------------------------------------------------------------------ the distributor's own


@portal_bp.get("/account")
@require_roles(Role.DISTRIBUTOR)
def my_account() -> ResponseReturnValue:
    party_id = current_actor().party_id
    if party_id is None:
        abort_for(settlement.PermissionDenied("this distributor user has no party"))
    return _account_page("partner/account.html", party_id)


@portal_bp.get("/accruals")
@require_roles(Role.DISTRIBUTOR)
def my_accruals() -> ResponseReturnValue:
    return _accruals_page("partner/accruals.html", "portal_money.my_accruals")
