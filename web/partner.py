"""The partner portal for distributors: their own statements (with downloads), the
alerts about them (notes and appeals), and reporting a unit seen out of its zone.

Everything is scoped to the signed-in distributor's party by the engine; another
party's statement or alert answers 404 like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

import settlement
from web.alerts import FINDING_LABELS
from web.api.settlement import file_report_now
from web.db import get_engine
from web.errors import message_of
from web.roles import Role
from web.security import require_roles
from web.settlement_access import abort_for, current_actor, format_ms, unit_keys

__all__ = ["bp"]

bp = Blueprint("partner", __name__, url_prefix="/partner")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"format_ms": format_ms, "labels": FINDING_LABELS}


@bp.get("/statements")
@require_roles(Role.DISTRIBUTOR)
def statements() -> ResponseReturnValue:
    try:
        rows = settlement.list_statements(get_engine(), current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template("partner/statements.html", statements=rows)


@bp.get("/statements/<int:statement_id>")
@require_roles(Role.DISTRIBUTOR)
def statement(statement_id: int) -> ResponseReturnValue:
    try:
        st = settlement.get_statement(get_engine(), statement_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)
    summary = next(
        (s for s in settlement.list_statements(get_engine(), current_actor()) if s.id == st.id),
        None,
    )
    return render_template("partner/statement.html", st=st, summary=summary)


@bp.get("/alerts")
@require_roles(Role.DISTRIBUTOR)
def alerts() -> ResponseReturnValue:
    actor = current_actor()
    try:
        rows = settlement.list_alerts(get_engine(), actor)
        reports = settlement.list_reports(get_engine(), actor)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return render_template(
        "partner/alerts.html",
        alerts=rows,
        reports=reports,
        keys=unit_keys(r.unit_id for r in reports),
    )


def _visible(alert_id: int) -> settlement.AlertView:
    try:
        return settlement.get_alert(get_engine(), alert_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@bp.get("/alerts/<int:alert_id>")
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
        findings=[(seq, keys.get(u, f"unit {u}"), at) for seq, u, at in findings],
        history=list(reversed(history)),
    )


@bp.post("/alerts/<int:alert_id>/appeal")
@require_roles(Role.DISTRIBUTOR)
def appeal(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        settlement.appeal_alert(
            get_engine(), alert_id, request.form.get("reason", ""), current_actor()
        )
    except settlement.SettlementError as exc:
        flash(str(exc), "error")
    else:
        flash("Appeal sent: a channel manager will review the alert again.", "success")
    return redirect(url_for("partner.alert", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/note")
@require_roles(Role.DISTRIBUTOR)
def note(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        settlement.add_note(get_engine(), alert_id, request.form.get("text", ""), current_actor())
    except settlement.SettlementError as exc:
        flash(str(exc), "error")
    else:
        flash("Note added.", "success")
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
            f"Report {r.id} filed, but flagged: {r.malicious_reason}. It cannot earn a reward.",
            "error",
        )
    else:
        flash(
            f"Report {r.id} filed. If a channel manager confirms the diversion you earn a "
            "share of the penalty.",
            "success",
        )
    return redirect(url_for("partner.alerts"))
