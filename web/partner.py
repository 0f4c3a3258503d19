"""The partner portal for distributors: their own statements once posted (with
downloads), confirming each or disputing some of its lines with a reason and
following finance's answer; the alerts about them (notes and appeals), and
reporting a unit seen out of its zone.

Everything is scoped to the signed-in distributor's party by the engine; another
party's statement or alert answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from werkzeug.exceptions import HTTPException

import settlement
from web.alerts import alert_filters, finding_labels, severity_reason, sort_labels
from web.api.settlement import file_report_now
from web.db import get_engine
from web.errors import message_of
from web.i18n import page_words
from web.paging import page_request
from web.reasons import reason_sentence, reason_words
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms, unit_keys

__all__ = ["bp"]

bp = Blueprint("partner", __name__, url_prefix="/partner")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"format_ms": format_ms, "labels": finding_labels()}


@bp.get("/statements")
@require_roles(Role.DISTRIBUTOR)
def statements() -> ResponseReturnValue:
    try:
        rows = settlement.list_statements(get_engine(), current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template("partner/statements.html", statements=rows)


def _statement(statement_id: int) -> settlement.StatementView:
    """The caller's own statement of a posted run; 404 for anything else."""
    try:
        return settlement.get_statement(get_engine(), statement_id, current_actor(), page_words())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


def _statement_page(
    st: settlement.StatementView,
    answer: dict[str, Any] | None = None,
    problem: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    answer = answer or {"disputed": set(), "reasons": {}}
    return render_template("partner/statement.html", st=st, answer=answer, problem=problem), status


@bp.get("/statements/<id:statement_id>")
@require_roles(Role.DISTRIBUTOR)
def statement(statement_id: int) -> ResponseReturnValue:
    return _statement_page(_statement(statement_id))


@bp.post("/statements/<id:statement_id>/respond")
@require_roles(Role.DISTRIBUTOR)
def respond(statement_id: int) -> ResponseReturnValue:
    """Confirm the statement, or dispute the lines ticked (or given a reason), each with
    its reason; a problem is shown on the page with what was typed kept."""
    st = _statement(statement_id)
    reasons = {ln.position: request.form.get(f"reason-{ln.position}", "") for ln in st.lines}
    ticked = {int(v) for v in request.form.getlist("dispute") if v.isdigit()}
    disputed = sorted(ticked | {pos for pos, text in reasons.items() if text.strip()})
    confirm = request.form.get("action") == "confirm"
    try:
        settlement.respond_to_statement(
            get_engine(), statement_id, current_actor(), confirm=confirm,
            disputes=[(pos, reasons.get(pos, "")) for pos in disputed], words=page_words(),
        )  # fmt: skip
    except settlement.StatementNotFound:
        abort(404)
    except settlement.SettlementError as exc:
        answer = {"disputed": set(disputed), "reasons": reasons}
        code = 409 if isinstance(exc, settlement.DisputeStateError) else 422
        return _statement_page(_statement(statement_id), answer, reason_sentence(exc), code)
    if confirm:
        flash(gettext("Statement confirmed. Thank you."), "success")
    else:
        n = len(disputed)
        flash(
            ngettext(
                "%(num)d line disputed: finance will answer it, by an adjustment on a later"
                " statement or in writing.",
                "%(num)d lines disputed: finance will answer each, by an adjustment on a later"
                " statement or in writing.",
                n,
            ),
            "success",
        )
    return redirect(url_for("partner.statement", statement_id=statement_id))


@bp.get("/alerts")
@require_roles(Role.DISTRIBUTOR)
def alerts() -> ResponseReturnValue:
    """The distributor's own alerts, a page at a time, with the same filters as the
    channel manager's list except the party (always its own)."""
    actor = current_actor()
    query, problems, shown = alert_filters(party_filter=False)
    pager = page_request()
    try:
        found = settlement.page_alerts(
            get_engine(), actor, query, offset=pager.offset, limit=pager.size
        )
        if found.total and pager.offset >= found.total:  # past the end: the last page
            pager = pager.with_total(found.total)
            found = settlement.page_alerts(
                get_engine(), actor, query, offset=pager.offset, limit=pager.size
            )
        reports = settlement.list_reports(get_engine(), actor)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template(
        "partner/alerts.html",
        alerts=found.items,
        grades=found.grades,
        pager=pager.with_total(found.total),
        filters=shown,
        statuses=settlement.ALERT_STATUSES,
        types=settlement.ALERT_TYPES,
        severities=settlement.SEVERITIES,
        sorts=sort_labels(),
        problems=problems,
        reason=severity_reason,
        reports=reports,
        keys=unit_keys(r.unit_id for r in reports),
    ), (400 if problems else 200)


def _visible(alert_id: int) -> settlement.AlertView:
    try:
        return settlement.get_alert(get_engine(), alert_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@bp.get("/alerts/<id:alert_id>")
@require_roles(Role.DISTRIBUTOR)
def alert(alert_id: int) -> ResponseReturnValue:
    view = _visible(alert_id)
    actor = current_actor()
    findings = settlement.alert_findings(get_engine(), alert_id, actor)
    keys = unit_keys(u for _, u, _ in findings)
    history = [
        e
        for e in settlement.alert_history(get_engine(), alert_id, actor)
        if e.action != "attachment" or e.role == "distributor"
    ]
    return render_template(
        "partner/alert.html",
        alert=view,
        reason=severity_reason(settlement.alert_severity(get_engine(), alert_id, actor)),
        findings=[
            (seq, keys.get(u) or gettext("unit %(id)s", id=u), at) for seq, u, at in findings
        ],
        history=list(reversed(history)),
    )


@bp.post("/alerts/<id:alert_id>/appeal")
@require_roles(Role.DISTRIBUTOR)
def appeal(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        settlement.appeal_alert(
            get_engine(), alert_id, request.form.get("reason", ""), current_actor()
        )
    except settlement.SettlementError as exc:
        flash(reason_words(exc), "error")
    else:
        flash(gettext("Appeal sent: a channel manager will review the alert again."), "success")
    return redirect(url_for("partner.alert", alert_id=alert_id))


@bp.post("/alerts/<id:alert_id>/note")
@require_roles(Role.DISTRIBUTOR)
def note(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        settlement.add_note(get_engine(), alert_id, request.form.get("text", ""), current_actor())
    except settlement.SettlementError as exc:
        flash(reason_words(exc), "error")
    else:
        flash(gettext("Note added."), "success")
    return redirect(url_for("partner.alert", alert_id=alert_id))


_FIELDS = ("unit", "seen_at", "lat", "lon", "territory", "note")


def _report_page(form: dict[str, str], problem: str = "", status: int = 200) -> ResponseReturnValue:
    return render_template("partner/report.html", form=form, problem=problem), status


@bp.get("/report")
@require_roles(Role.DISTRIBUTOR)
def report() -> ResponseReturnValue:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    return _report_page({f: "" for f in _FIELDS} | {"seen_at": now})


@bp.post("/report")
@require_roles(Role.DISTRIBUTOR)
def file_report() -> ResponseReturnValue:
    form = {f: request.form.get(f, "") for f in _FIELDS}
    if not form["unit"].strip():
        return _report_page(form, "Enter the unit key or scan its label.", 422)
    if not form["seen_at"].strip():
        return _report_page(form, "Say when you saw it.", 422)
    try:
        r = file_report_now(
            form["unit"], form["seen_at"], form["lat"], form["lon"], form["territory"], form["note"]
        )
    except HTTPException as exc:
        if exc.code in (403, 404):
            raise
        return _report_page(form, message_of(exc)[:1].upper() + message_of(exc)[1:] + ".", 422)
    if r.malicious:
        flash(
            gettext(
                "Report %(id)s filed, but flagged: %(reason)s. It cannot earn a reward.",
                id=r.id,
                reason=r.malicious_reason,
            ),
            "error",
        )
    else:
        flash(
            gettext(
                "Report %(id)s filed. If a channel manager confirms the diversion you earn a"
                " share of the penalty.",
                id=r.id,
            ),
            "success",
        )
    return redirect(url_for("partner.alerts"))
