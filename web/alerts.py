"""Diversion alerts for channel managers: the filterable list, one alert with its
evidence and history, the workflow actions, and whistleblower reports to confirm
or reject. The workflow rules are the engine's (:mod:`settlement.alerts`)."""

from __future__ import annotations

import re
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
from flask_babel import gettext, ngettext

import settlement
from risk.reviews import open_event_reviews
from web.admin_pickers import alert_assignee_role
from web.converters import parse_id
from web.db import get_engine
from web.i18n import N_, format_number
from web.outbox import after_alert_confirmed
from web.paging import page_request
from web.reasons import reason_words, severity_words
from web.security import require_roles
from web.settlement_access import (
    MANAGERS,
    abort_for,
    current_actor,
    format_ms,
    party_codes,
    store_upload,
    unit_keys,
    upload_path,
)

__all__ = [
    "FINDING_LABELS",
    "alert_filters",
    "bp",
    "event_text",
    "finding_labels",
    "severity_reason",
    "sort_labels",
    "unit_link",
]

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

FINDING_LABELS = {
    "out_of_zone": N_("Out of zone"),
    "cross_region": N_("Cross-region transfer"),
    "custody_break": N_("Custody break"),
    "clone": N_("Cloned code"),
}
SORT_LABELS = {
    "newest": N_("newest first"),
    "severity": N_("most severe first"),
    "units": N_("most units first"),
    "value": N_("highest value first"),
}


def finding_labels() -> dict[str, str]:
    """Finding type -> its name in the page's language."""
    return {k: gettext(v) for k, v in FINDING_LABELS.items()}


def sort_labels() -> dict[str, str]:
    """Sort name -> its label in the page's language."""
    return {k: gettext(v) for k, v in SORT_LABELS.items()}


def severity_reason(grade: settlement.SeverityGrade) -> str:
    """The severity rule's reason in the page's language (:func:`web.reasons.severity_words`)."""
    return severity_words(grade)


#: What detection writes on the events it records (settlement/detection.py:
#: ``f"{added} findings at tree size {tree_size}"``), read back to be said in words.
_DETECTION_TEXT = re.compile(r"^(\d+) findings at tree size (\d+)$")
#: Events the application records by itself, in words (the history's verb).
_SYSTEM_ACTIONS = {"detected", "findings_added"}


@bp.app_template_global("alert_event_text")
def event_text(event: settlement.AlertEventView) -> str:
    """The text of a history event as the page shows it: what people wrote, as they
    wrote it; what detection recorded (``"3 findings at tree size 120"``), in the
    page's language."""
    found = _DETECTION_TEXT.match(event.text or "")
    if event.role != "system" or event.action not in _SYSTEM_ACTIONS or found is None:
        return event.text
    return str(
        ngettext(
            "%(num)s finding at tree size %(size)s",
            "%(num)s findings at tree size %(size)s",
            int(found.group(1)),
            size=format_number(int(found.group(2))),
        )
    )


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


def alert_filters(*, party_filter: bool) -> tuple[settlement.AlertQuery, list[str], dict[str, str]]:
    """The alert list's filters from the query string: ``q`` (part of a unit key),
    ``party`` (code, or id; only where ``party_filter``), ``type``, ``severity``,
    ``status``, ``period`` (YYYY-MM) and ``sort``.

    Returns the query, the problems in words (a bad value is dropped, not
    guessed at) and the filter values to show back in the form.
    """
    problems: list[str] = []
    shown = {k: request.args.get(k, "").strip() for k in _FILTER_ARGS}

    def choice(name: str, allowed: tuple[str, ...], label: str) -> str | None:
        value = _arg(name)
        if value is not None and value not in allowed:
            problems.append(
                gettext(
                    "%(field)s: %(value)s is not one of %(allowed)s.",
                    field=label,
                    value=repr(value),
                    allowed=", ".join(allowed),
                )
            )
            shown[name] = ""
            return None
        return value

    status = choice("status", settlement.ALERT_STATUSES, gettext("Status"))
    ftype = choice("type", settlement.ALERT_TYPES, gettext("Type"))
    severity = choice("severity", settlement.SEVERITIES, gettext("Severity"))
    sort = choice("sort", settlement.ALERT_SORTS, gettext("Sort")) or "newest"
    period = _arg("period")
    if period is not None:
        try:
            settlement.period_bounds(period)
        except settlement.SettlementError:
            problems.append(
                gettext(
                    "Period: %(value)s is neither YYYY-MM nor YYYY-Qn (a month such as 2026-10).",
                    value=repr(period),
                )
            )
            period, shown["period"] = None, ""
    unit_key = _arg("q")
    if unit_key is not None and len(unit_key) > settlement.UNIT_KEY_MAX:
        problems.append(
            gettext(
                "Unit key: at most %(max)s characters, this search has %(n)s.",
                max=settlement.UNIT_KEY_MAX,
                n=len(unit_key),
            )
        )
        unit_key, shown["q"] = None, ""
    party_id: int | None = None
    raw_party = _arg("party") if party_filter else None
    if raw_party is not None:
        party_id = parse_id(raw_party)
        if party_id is None:
            found = settlement.find_party(get_engine(), current_actor(), raw_party)
            if found is None:
                problems.append(
                    gettext("Party: no distributor has the code %(value)s.", value=repr(raw_party))
                )
                shown["party"] = ""
            else:
                party_id, shown["party"] = found.id, found.code
        else:
            shown["party"] = party_codes([party_id]).get(party_id, raw_party)
    query = settlement.AlertQuery(
        status=status,
        period=period,
        party_id=party_id,
        finding_type=ftype,
        severity=severity,
        unit_key=unit_key,
        sort=sort,
    )
    return query, problems, shown


_FILTER_ARGS = ("q", "party", "type", "severity", "status", "period", "sort")


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
    query, problems, shown = alert_filters(party_filter=True)
    pager = page_request()
    try:
        found = settlement.page_alerts(
            get_engine(), current_actor(), query, offset=pager.offset, limit=pager.size
        )
        if found.total and pager.offset >= found.total:  # past the end: the last page
            pager = pager.with_total(found.total)
            found = settlement.page_alerts(
                get_engine(), current_actor(), query, offset=pager.offset, limit=pager.size
            )
    except settlement.SettlementError as exc:
        abort_for(exc)
    open_reports = len(settlement.list_reports(get_engine(), current_actor(), status="open"))
    return render_template(
        "alerts/index.html",
        alerts=found.items,
        grades=found.grades,
        pager=pager.with_total(found.total),
        codes=party_codes(a.party_id for a in found.items),
        filters=shown,
        statuses=settlement.ALERT_STATUSES,
        types=settlement.ALERT_TYPES,
        severities=settlement.SEVERITIES,
        sorts=sort_labels(),
        problems=problems,
        labels=finding_labels(),
        open_reports=open_reports,
        reason=severity_reason,
    ), (400 if problems else 200)


@bp.get("/<id:alert_id>")
@require_roles(*MANAGERS)
def detail(alert_id: int) -> ResponseReturnValue:
    alert = _visible(alert_id)
    actor = current_actor()
    findings = settlement.alert_findings(get_engine(), alert_id, actor)
    history = settlement.alert_history(get_engine(), alert_id, actor)
    keys = unit_keys(u for _, u, _ in findings)
    rows = [(seq, keys.get(u) or gettext("unit %(id)s", id=u), at) for seq, u, at in findings]
    reports = [
        r
        for r in settlement.list_reports(get_engine(), actor, status="open")
        if r.unit_id in {u for _, u, _ in findings}
    ]
    return render_template(
        "alerts/detail.html",
        alert=alert,
        grade=settlement.alert_severity(get_engine(), alert_id, actor),
        reason=severity_reason,
        reference=settlement.VALUE_REFERENCE_CURRENCY,
        code=party_codes([alert.party_id]).get(alert.party_id or 0, "—"),
        findings=rows,
        history=list(reversed(history)),
        attachments=[e for e in history if e.attachment_ref],
        appeal_pending=alert.appealed and alert.status == "investigating",
        reports=reports,
        labels=finding_labels(),
        unit_link=unit_link,
        format_ms=format_ms,
    )


def _act(alert_id: int, done: str, step: Callable[[], settlement.AlertView]) -> ResponseReturnValue:
    _visible(alert_id)
    try:
        step()
    except settlement.SettlementError as exc:
        flash(reason_words(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<id:alert_id>/investigate")
@require_roles(*MANAGERS)
def investigate(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        gettext("Alert %(id)s is under investigation.", id=alert_id),
        lambda: settlement.start_investigation(get_engine(), alert_id, current_actor(), note),
    )


@bp.post("/<id:alert_id>/confirm")
@require_roles(*MANAGERS)
def confirm(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        gettext(
            "Alert %(id)s confirmed: the next settlement run charges its penalty.", id=alert_id
        ),
        lambda: _confirmed(settlement.confirm_alert(get_engine(), alert_id, current_actor(), note)),
    )


def _confirmed(view: settlement.AlertView) -> settlement.AlertView:
    """Queue the party's e-mail once the confirmation is committed, and open an
    event review of the party when the alert is serious (risk.reviews)."""
    after_alert_confirmed(get_engine(), view.id)
    open_event_reviews(get_engine(), current_actor())
    return view


@bp.post("/<id:alert_id>/dismiss")
@require_roles(*MANAGERS)
def dismiss(alert_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    return _act(
        alert_id,
        gettext("Alert %(id)s dismissed.", id=alert_id),
        lambda: settlement.dismiss_alert(get_engine(), alert_id, current_actor(), note),
    )


@bp.post("/<id:alert_id>/assign")
@require_roles(*MANAGERS)
def assign(alert_id: int) -> ResponseReturnValue:
    assignee = request.form.get("assignee", "").strip()
    return _act(
        alert_id,
        gettext("Alert %(id)s assigned to %(assignee)s.", id=alert_id, assignee=assignee),
        lambda: settlement.assign_alert(
            get_engine(),
            alert_id,
            assignee,
            current_actor(),
            assignee_role=alert_assignee_role(assignee),
        ),
    )


@bp.post("/<id:alert_id>/note")
@require_roles(*MANAGERS)
def note(alert_id: int) -> ResponseReturnValue:
    text = request.form.get("text", "")
    return _act(
        alert_id,
        gettext("Note added."),
        lambda: settlement.add_note(get_engine(), alert_id, text, current_actor()),
    )


@bp.post("/<id:alert_id>/attach")
@require_roles(*MANAGERS)
def attach(alert_id: int) -> ResponseReturnValue:
    _visible(alert_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(gettext("Choose a file to attach."), "error")
        return redirect(url_for("alerts.detail", alert_id=alert_id))
    ref = store_upload(upload)
    text = request.form.get("note", "")
    return _act(
        alert_id,
        gettext("File %(name)s attached.", name=upload.filename),
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
        flash(gettext("Choose the confirmed alert this report helped prove."), "error")
    else:
        try:
            settlement.confirm_report(get_engine(), report_id, alert_id, current_actor())
        except settlement.SettlementError as exc:
            flash(reason_words(exc), "error")
        else:
            flash(
                gettext(
                    "Report %(report)s confirmed; its reward follows alert %(alert)s's penalty.",
                    report=report_id,
                    alert=alert_id,
                ),
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
        flash(reason_words(exc), "error")
    else:
        flash(gettext("Report %(id)s rejected.", id=report_id), "success")
    return redirect(url_for("alerts.reports"))
