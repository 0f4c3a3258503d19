"""Diversion alerts for channel managers: the filterable list, one alert with its
evidence and history, the workflow actions, and whistleblower reports to confirm
or reject. The workflow rules are the engine's (:mod:`settlement.alerts`)."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue

import settlement
from web.converters import parse_id
from web.db import get_engine
from web.security import require_roles
from web.settlement_access import (
    MANAGERS,
    abort_for,
    current_actor,
    distributor_parties,
    format_ms,
    party_codes,
    store_upload,
    unit_keys,
    upload_path,
)

__all__ = ["bp", "unit_link"]

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

FINDING_LABELS = {
    "out_of_zone": "Out of zone",
    "cross_region": "Cross-region transfer",
    "custody_break": "Custody break",
    "clone": "Cloned code",
}


def unit_link(key: str | None) -> str | None:
    """The trace page of a unit, when that page exists in this app."""
    if key is None or "trace.unit" not in current_app.view_functions:
        return None
    return url_for("trace.unit", q=key)


def _visible(alert_id: int) -> settlement.AlertView:
    try:
        return settlement.get_alert(get_engine(), alert_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@bp.get("/")
@require_roles(*MANAGERS)
def index() -> ResponseReturnValue:
    status = request.args.get("status", "")
    period = request.args.get("period", "").strip()
    party = request.args.get("party", "")
    problem = ""
    if status and status not in settlement.ALERT_STATUSES:
        problem, status = f"Unknown status {status!r}.", ""
    party_id = parse_id(party)
    if period:
        try:
            settlement.period_bounds(period)
        except settlement.SettlementError as exc:
            problem, period = str(exc), ""
    try:
        alerts = settlement.list_alerts(
            get_engine(),
            current_actor(),
            status=status or None,
            period=period or None,
            party_id=party_id,
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    open_reports = len(settlement.list_reports(get_engine(), current_actor(), status="open"))
    return render_template(
        "alerts/index.html",
        alerts=alerts,
        codes=party_codes(a.party_id for a in alerts),
        parties=distributor_parties(),
        statuses=settlement.ALERT_STATUSES,
        status=status,
        period=period,
        party_id=party_id,
        problem=problem,
        labels=FINDING_LABELS,
        open_reports=open_reports,
    ), (400 if problem else 200)


@bp.get("/<id:alert_id>")
@require_roles(*MANAGERS)
def detail(alert_id: int) -> ResponseReturnValue:
    alert = _visible(alert_id)
    actor = current_actor()
    findings = settlement.alert_findings(get_engine(), alert_id, actor)
    history = settlement.alert_history(get_engine(), alert_id, actor)
    keys = unit_keys(u for _, u, _ in findings)
    rows = [(seq, keys.get(u, f"unit {u}"), at) for seq, u, at in findings]
    reports = [
        r
        for r in settlement.list_reports(get_engine(), actor, status="open")
        if r.unit_id in {u for _, u, _ in findings}
    ]
    return render_template(
        "alerts/detail.html",
        alert=alert,
        code=party_codes([alert.party_id]).get(alert.party_id or 0, "—"),
        findings=rows,
        history=list(reversed(history)),
        attachments=[e for e in history if e.attachment_ref],
        appeal_pending=alert.appealed and alert.status == "investigating",
        reports=reports,
        labels=FINDING_LABELS,
        unit_link=unit_link,
        format_ms=format_ms,
    )


def _act(alert_id: int, done: str, step: Callable[[], settlement.AlertView]) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        step()
    except settlement.SettlementError as exc:
        flash(str(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<id:alert_id>/investigate")
@require_roles(*MANAGERS)
def investigate(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        f"Alert {alert_id} is under investigation.",
        lambda: settlement.start_investigation(get_engine(), alert_id, current_actor(), note),
    )


@bp.post("/<id:alert_id>/confirm")
@require_roles(*MANAGERS)
def confirm(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        f"Alert {alert_id} confirmed: the next settlement run charges its penalty.",
        lambda: settlement.confirm_alert(get_engine(), alert_id, current_actor(), note),
    )


@bp.post("/<id:alert_id>/dismiss")
@require_roles(*MANAGERS)
def dismiss(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        f"Alert {alert_id} dismissed.",
        lambda: settlement.dismiss_alert(get_engine(), alert_id, current_actor(), note),
    )


@bp.post("/<id:alert_id>/assign")
@require_roles(*MANAGERS)
def assign(alert_id: int) -> ResponseReturnValue:
    assignee = request.form.get("assignee", "").strip()
    return _act(
        alert_id,
        f"Alert {alert_id} assigned to {assignee}.",
        lambda: settlement.assign_alert(get_engine(), alert_id, assignee, current_actor()),
    )


@bp.post("/<id:alert_id>/note")
@require_roles(*MANAGERS)
def note(alert_id: int) -> ResponseReturnValue:
    text = request.form.get("text", "")
    return _act(
        alert_id,
        "Note added.",
        lambda: settlement.add_note(get_engine(), alert_id, text, current_actor()),
    )


@bp.post("/<id:alert_id>/attach")
@require_roles(*MANAGERS)
def attach(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a file to attach.", "error")
        return redirect(url_for("alerts.detail", alert_id=alert_id))
    ref = store_upload(upload)
    text = request.form.get("note", "")
    return _act(
        alert_id,
        f"File {upload.filename} attached.",
        lambda: settlement.attach_file(get_engine(), alert_id, ref, current_actor(), note=text),
    )


@bp.get("/<id:alert_id>/files/<name>")
@require_roles(*MANAGERS)
def attachment(alert_id: int, name: str) -> ResponseReturnValue:
    """An attached file, only through the alert it was attached to."""
    _visible(alert_id)
    ref = f"uploads/{name}"
    history = settlement.alert_history(get_engine(), alert_id, current_actor())
    if ref not in {e.attachment_ref for e in history}:
        abort(404)
    path = upload_path(ref)
    return send_file(path, as_attachment=True, download_name=name.partition("-")[2] or name)


@bp.get("/reports")
@require_roles(*MANAGERS)
def reports() -> ResponseReturnValue:
    actor = current_actor()
    rows = settlement.list_reports(get_engine(), actor)
    confirmed = settlement.list_alerts(get_engine(), actor, status="confirmed")
    return render_template(
        "alerts/reports.html",
        reports=rows,
        keys=unit_keys(r.unit_id for r in rows),
        codes=party_codes(r.reporter_id for r in rows),
        confirmed=confirmed,
        alert_codes=party_codes(a.party_id for a in confirmed),
        unit_link=unit_link,
        format_ms=format_ms,
    )


@bp.post("/reports/<id:report_id>/confirm")
@require_roles(*MANAGERS)
def confirm_report(report_id: int) -> ResponseReturnValue:
    raw = request.form.get("alert_id", "")
    alert_id = parse_id(raw)
    if alert_id is None:
        flash("Choose the confirmed alert this report helped prove.", "error")
    else:
        try:
            settlement.confirm_report(get_engine(), report_id, alert_id, current_actor())
        except settlement.SettlementError as exc:
            flash(str(exc), "error")
        else:
            flash(
                f"Report {report_id} confirmed; its reward follows alert {raw}'s penalty.",
                "success",
            )
    return redirect(url_for("alerts.reports"))


@bp.post("/reports/<id:report_id>/reject")
@require_roles(*MANAGERS)
def reject_report(report_id: int) -> ResponseReturnValue:
    try:
        settlement.reject_report(
            get_engine(), report_id, current_actor(), request.form.get("note", "")
        )
    except settlement.SettlementError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Report {report_id} rejected.", "success")
    return redirect(url_for("alerts.reports"))
