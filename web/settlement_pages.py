"""Settlement runs for finance: the list, creating a draft for a period, one run with
its totals and chart, approving (a second finance user) and posting, statements per
distributor with downloads, and the quarterly partner scorecard. Admins and
auditors read everything; only finance acts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

import settlement
from web import page_params
from web.dashboards import run_spec
from web.db import get_engine
from web.errors import BadParameter, localized_message
from web.i18n import N_, page_words
from web.outbox import after_run_posted
from web.paging import page_request
from web.reasons import reason_words
from web.roles import Role
from web.security import current_principal, require_roles
from web.settlement_access import (
    FINANCE_READERS,
    abort_for,
    current_actor,
    format_money,
    format_ms,
)
from web.signing import get_signer

__all__ = ["bp"]

bp = Blueprint("settlement", __name__, url_prefix="/settlement")
# Macros of _settlement.html format money on every page that imports them.
bp.add_app_template_global(format_money, "format_money")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    principal = current_principal()
    return {
        "format_ms": format_ms,
        "can_act": principal is not None and principal.role is Role.FINANCE,
    }


def _visible_run(run_id: int) -> settlement.RunView:
    try:
        return settlement.get_run(get_engine(), run_id)
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


def _runs_page(form: dict[str, str], problem: str) -> str:
    pager = page_request()
    runs, total = settlement.page_runs(get_engine(), offset=pager.offset, limit=pager.size)
    pager = pager.with_total(total)
    return render_template(
        "settlement/runs.html", runs=runs, pager=pager, form=form, problem=problem
    )


@bp.get("/")
@require_roles(*FINANCE_READERS)
def runs() -> ResponseReturnValue:
    return _runs_page({"period": "", "kind": "final", "currency": "EUR"}, "")


@bp.post("/")
@require_roles(Role.FINANCE)
def create() -> ResponseReturnValue:
    form = {
        "period": request.form.get("period", "").strip(),
        "kind": request.form.get("kind", "final"),
        "currency": request.form.get("currency", "EUR").strip().upper() or "EUR",
    }
    try:
        run = settlement.create_run(
            get_engine(),
            form["period"],
            form["kind"],
            current_actor(),
            reporting_currency=form["currency"],
        )
    except settlement.SettlementError as exc:
        return _runs_page(form, reason_words(exc)), 422
    flash(
        gettext(
            "Draft run %(id)s for %(period)s created with %(count)s statements; another"
            " finance user approves it.",
            id=run.id,
            period=run.period,
            count=run.statement_count,
        ),
        "success",
    )
    return redirect(url_for("settlement.run", run_id=run.id))


@bp.get("/runs/<id:run_id>")
@require_roles(*FINANCE_READERS)
def run(run_id: int) -> ResponseReturnValue:
    view = _visible_run(run_id)
    actor = current_actor()
    try:
        summary = settlement.run_summary(get_engine(), run_id, actor)
        statements = settlement.list_statements(get_engine(), actor, run_id=run_id)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template(
        "settlement/run.html",
        run=view,
        summary=summary,
        statements=statements,
        me=actor.user_id,
        chart_spec=run_spec(summary),
    )


def _step(run_id: int, action: str) -> ResponseReturnValue:
    _visible_run(run_id)
    engine, actor = get_engine(), current_actor()
    try:
        if action == "approve":
            settlement.approve_run(engine, run_id, actor)
            flash(gettext("Run %(id)s approved; it can be posted now.", id=run_id), "success")
        elif action == "post":
            settlement.post_run(engine, run_id, actor, signer=get_signer())
            flash(
                gettext("Run %(id)s posted: it is booked and can no longer change.", id=run_id),
                "success",
            )
            after_run_posted(engine, run_id, actor)  # the statements' e-mails
        else:
            settlement.discard_run(engine, run_id, actor)
            flash(gettext("Run %(id)s discarded.", id=run_id), "success")
            return redirect(url_for("settlement.runs"))
    except settlement.SettlementError as exc:
        flash(reason_words(exc), "error")
    return redirect(url_for("settlement.run", run_id=run_id))


@bp.post("/runs/<id:run_id>/approve")
@require_roles(Role.FINANCE)
def approve(run_id: int) -> ResponseReturnValue:
    return _step(run_id, "approve")


@bp.post("/runs/<id:run_id>/post")
@require_roles(Role.FINANCE)
def post(run_id: int) -> ResponseReturnValue:
    return _step(run_id, "post")


@bp.post("/runs/<id:run_id>/discard")
@require_roles(Role.FINANCE)
def discard(run_id: int) -> ResponseReturnValue:
    return _step(run_id, "discard")


@bp.get("/statements/<id:statement_id>")
@require_roles(*FINANCE_READERS)
def statement(statement_id: int) -> ResponseReturnValue:
    try:
        st = settlement.get_statement(get_engine(), statement_id, current_actor(), page_words())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)
    return render_template("settlement/statement.html", st=st, run=_visible_run(st.run_id))


@bp.get("/scores")
@require_roles(*FINANCE_READERS)
def scores() -> ResponseReturnValue:
    quarter = request.args.get("quarter", "").strip()
    if quarter:  # 400 naming the field for anything but YYYY-Qn
        quarter = page_params.period("quarter", N_("Quarter"), quarter, "quarter")
    return render_template(
        "settlement/scores.html",
        quarter=quarter,
        scores=settlement.list_partner_scores(get_engine(), quarter) if quarter else [],
    )


@bp.post("/scores")
@require_roles(Role.FINANCE)
def compute_scores() -> ResponseReturnValue:
    quarter = request.form.get("quarter", "").strip()
    try:
        page_params.period("quarter", N_("Quarter"), quarter, "quarter")
    except BadParameter as exc:
        flash(localized_message(exc), "error")
        return redirect(url_for("settlement.scores"))
    try:
        done = settlement.score_partners(get_engine(), quarter, current_actor())
    except settlement.SettlementError as exc:
        flash(reason_words(exc), "error")
        return redirect(url_for("settlement.scores", quarter=quarter))
    flash(
        gettext("%(count)s distributors scored for %(quarter)s.", count=len(done), quarter=quarter),
        "success",
    )
    return redirect(url_for("settlement.scores", quarter=quarter))
