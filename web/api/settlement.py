"""Diversion alerts, whistleblower reports, settlement runs, statements and partner
scores as JSON.

Roles: channel managers (and admins) work on alerts and reports; finance creates,
approves and posts runs, admins and auditors read them; a distributor sees only
its own statements, alerts and reports, and anything else answers 404 exactly
like something that does not exist.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

import settlement
from risk.reviews import open_event_reviews
from web.admin_pickers import alert_assignee_role
from web.api import (
    MONTH_PATTERN,
    PERIOD_PATTERN,
    QUARTER_PATTERN,
    api_route,
    id_param,
    json_body,
    json_response,
    query_int,
    query_param,
    query_str,
)
from web.api.paging import page_params, page_window, paged, paged_response, window_of
from web.converters import ID_MAX, ID_SCHEMA
from web.db import get_engine
from web.errors import BadParameter
from web.i18n import DEFAULT_LOCALE, document_words, page_words
from web.outbox import after_alert_confirmed, after_run_posted
from web.roles import Role
from web.settlement_access import (
    FINANCE_READERS,
    MANAGERS,
    abort_for,
    current_actor,
    party_codes,
    store_upload,
    unit_keys,
)
from web.signing import get_signer
from web.unit_views import resolve_key

__all__ = ["alert_json", "statement_download_response"]

ALERT_READERS = (*MANAGERS, Role.AUDITOR, Role.FINANCE, Role.DISTRIBUTOR)
STATEMENT_READERS = (*FINANCE_READERS, Role.DISTRIBUTOR)
REPORT_READERS = (*MANAGERS, Role.AUDITOR, Role.FINANCE, Role.DISTRIBUTOR)
DOWNLOAD_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
_OBJECT = {"type": "object"}
_TAMPERED = "A posted statement that no longer matches its sealed hash (never served)"
_LIST = {"type": "array", "items": {"type": "object"}}


def _text_body(*names: str, required: str | None = None) -> dict[str, str]:
    """String fields of the JSON body (missing ones are ""); 422 naming a wrong one."""
    body = json_body()
    out: dict[str, str] = {}
    for name in names:
        value = body.get(name, "")
        if not isinstance(value, str):
            abort(422, f"{name!r} must be a string")
        out[name] = value
    if required is not None and not out[required].strip():
        abort(422, f"{required!r} is required")
    return out


def _body(fields: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {f: {"type": "string"} for f in fields}}


def _request_body(*fields: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _body(fields)}}}


# ------------------------------------------------------------------ alerts


def alert_json(alert: settlement.AlertView, codes: dict[int, str]) -> dict[str, Any]:
    out = dataclasses.asdict(alert)
    out["party_code"] = codes.get(alert.party_id) if alert.party_id is not None else None
    return out


def _visible_alert(alert_id: int) -> settlement.AlertView:
    """The alert if the caller may see it; 404 otherwise (a distributor's view of
    another party's alert is indistinguishable from a missing one)."""
    try:
        return settlement.get_alert(get_engine(), alert_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@api_route(
    "/alerts",
    summary="Diversion alerts, a page at a time",
    description="Filter by `q` (part of a unit key one of the alert's findings names), "
    "`party` (a distributor's code, any case) or `party_id`, `type`, `severity`, `status` and `period` (YYYY-MM); order by `sort`. "
    "The body is the page's alerts (with `severity_reason`, `value_minor` in "
    "`value_currency` and `value_reference_minor` in EUR, as detection last graded "
    "them: null when unknown); `X-Total-Count` gives the total and `Link` the next and previous "
    'pages: pass the `cursor` of `rel="next"` to read on. A distributor gets only the '
    "alerts about its own party.",
    params=(
        query_param("q", "string", maxLength=64, description="Part of a unit key."),
        query_param(
            "party",
            "string",
            maxLength=64,
            description="A distributor's code, any case (instead of party_id).",
        ),
        id_param("party_id"),
        query_param("type", "string", enum=list(settlement.ALERT_TYPES)),
        query_param("severity", "string", enum=list(settlement.SEVERITIES)),
        query_param("status", "string", enum=list(settlement.ALERT_STATUSES)),
        query_param("period", "string", description="YYYY-MM", pattern=MONTH_PATTERN),
        query_param(
            "sort",
            "string",
            enum=list(settlement.ALERT_SORTS),
            default="newest",
            description="newest (period, then id), severity, units or value at stake "
            "in EUR (alerts whose value is unknown last), largest first.",
        ),
        *page_params("alerts"),
    ),
    responses={200: paged_response("The page of alerts", _LIST)},
    roles=ALERT_READERS,
    tags=("alerts",),
)
def alerts_list() -> ResponseReturnValue:
    query = settlement.AlertQuery(
        status=query_str("status"),
        period=query_str("period"),
        party_id=_alert_party(),
        finding_type=query_str("type"),
        severity=query_str("severity"),
        unit_key=query_str("q"),
        sort=query_str("sort", "newest") or "newest",
    )
    offset, limit = page_window()
    try:
        page = settlement.page_alerts(
            get_engine(), current_actor(), query, offset=offset, limit=limit
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    codes = party_codes(a.party_id for a in page.items)
    body = []
    for a in page.items:
        item = alert_json(a, codes)
        item.update(_grade_json(page.grades[a.id]))
        body.append(item)
    return paged(jsonify(body), page.total, offset, limit, len(body))


def _alert_party() -> int | None:
    """The party the alert list is filtered by: ``party_id``, or the distributor
    whose code is ``party`` (any case, among those the caller may find, as the alert
    page reads it). 400 naming ``party`` for a code no such distributor has, or
    when both are given."""
    party_id = query_int("party_id")
    code = query_str("party")
    if code is None:
        return party_id
    if party_id is not None:
        raise BadParameter(
            "party",
            "give party or party_id, not both",
            lazy_gettext("give party or party_id, not both"),
        )
    found = settlement.find_party(get_engine(), current_actor(), code)
    if found is None:
        raise BadParameter(
            "party",
            f"party: no distributor has the code {code!r}",
            lazy_gettext("party: no distributor has the code %(value)s", value=repr(code)),
        )
    return found.id


@api_route(
    "/alerts/<id:alert_id>",
    summary="One alert with its evidence and history",
    description="`findings`: the ledger entries (seq, unit key, time) it was raised on; "
    "`history`: every status change, assignment, note, attachment and appeal.",
    responses={200: json_response("The alert", _OBJECT), 404: "No such alert"},
    roles=ALERT_READERS,
    tags=("alerts",),
)
def alert_detail(alert_id: int) -> ResponseReturnValue:
    alert = _visible_alert(alert_id)
    actor = current_actor()
    findings = settlement.alert_findings(get_engine(), alert_id, actor)
    history = settlement.alert_history(get_engine(), alert_id, actor)
    keys = unit_keys(u for _, u, _ in findings)
    out = alert_json(alert, party_codes([alert.party_id]))
    out.update(_grade_json(settlement.alert_severity(get_engine(), alert_id, actor)))
    out["findings"] = [
        {"seq": seq, "unit_id": unit, "unit_key": keys.get(unit), "at_ms": at}
        for seq, unit, at in findings
    ]
    out["history"] = [dataclasses.asdict(e) for e in history]
    return jsonify(out)


def _grade_json(grade: settlement.SeverityGrade) -> dict[str, Any]:
    """The stored severity grade's fields of an alert in the API: ``severity_reason``
    (English), ``value_minor`` in ``value_currency`` (null: no list price),
    ``value_reference_minor`` (EUR minor units; null: value or FX rate unknown)."""
    return {
        "severity_reason": grade.reason,
        "value_minor": grade.value_minor,
        "value_currency": grade.currency or None,
        "value_reference_minor": grade.value_reference_minor,
    }


def _alert_action(alert_id: int, action: str) -> ResponseReturnValue:
    _visible_alert(alert_id)
    engine, actor = get_engine(), current_actor()
    try:
        if action == "assign":
            body = _text_body("assignee", required="assignee")
            name = body["assignee"].strip()
            view = settlement.assign_alert(
                engine, alert_id, name, actor, assignee_role=alert_assignee_role(name)
            )
        elif action == "note":
            body = _text_body("text", required="text")
            view = settlement.add_note(engine, alert_id, body["text"], actor)
        elif action == "appeal":
            body = _text_body("reason", required="reason")
            view = settlement.appeal_alert(engine, alert_id, body["reason"], actor)
        else:
            note = _text_body("note")["note"] if request.content_length else ""
            move = {
                "investigate": settlement.start_investigation,
                "confirm": settlement.confirm_alert,
                "dismiss": settlement.dismiss_alert,
            }[action]
            view = move(engine, alert_id, actor, note)
            if action == "confirm":
                after_alert_confirmed(engine, alert_id)  # the party's e-mail
                open_event_reviews(engine, actor)  # a serious diversion: an event review
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify(alert_json(view, party_codes([view.party_id])))


_NOTE_BODY = {
    "required": False,
    "content": {"application/json": {"schema": _body(("note",))}},
}


@api_route(
    "/alerts/<id:alert_id>/investigate",
    methods=("POST",),
    summary="Start investigating an open alert",
    request_body=_NOTE_BODY,
    responses={200: json_response("The alert", _OBJECT), 404: "No such alert", 409: "Not open"},
    roles=MANAGERS,
    tags=("alerts",),
)
def alert_investigate(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "investigate")


@api_route(
    "/alerts/<id:alert_id>/confirm",
    methods=("POST",),
    summary="Confirm the diversion (the alert now costs its party money)",
    request_body=_NOTE_BODY,
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        409: "Not under investigation",
    },
    roles=MANAGERS,
    tags=("alerts",),
)
def alert_confirm(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "confirm")


@api_route(
    "/alerts/<id:alert_id>/dismiss",
    methods=("POST",),
    summary="Dismiss an alert under investigation",
    request_body=_NOTE_BODY,
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        409: "Not under investigation",
    },
    roles=MANAGERS,
    tags=("alerts",),
)
def alert_dismiss(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "dismiss")


@api_route(
    "/alerts/<id:alert_id>/assign",
    methods=("POST",),
    summary="Assign an alert to a user",
    description="`assignee`: the username of an active channel manager or administrator "
    "(`GET /api/v1/users?works=alerts` suggests them); an unknown user or one whose role "
    "cannot work alerts is refused with 422, the reason naming the Assign to field.",
    request_body=_request_body("assignee"),
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        422: "No assignee, an unknown one, or one who cannot work alerts",
    },
    roles=MANAGERS,
    tags=("alerts",),
)
def alert_assign(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "assign")


@api_route(
    "/alerts/<id:alert_id>/notes",
    methods=("POST",),
    summary="Add a note (channel managers; a distributor on its own alerts)",
    request_body=_request_body("text"),
    responses={200: json_response("The alert", _OBJECT), 404: "No such alert"},
    roles=(*MANAGERS, Role.DISTRIBUTOR),
    tags=("alerts",),
)
def alert_note(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "note")


@api_route(
    "/alerts/<id:alert_id>/appeal",
    methods=("POST",),
    summary="Appeal a confirmed alert about your own party (back to investigating)",
    request_body=_request_body("reason"),
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        409: "Not confirmed",
    },
    roles=(Role.DISTRIBUTOR,),
    tags=("alerts",),
)
def alert_appeal(alert_id: int) -> ResponseReturnValue:
    return _alert_action(alert_id, "appeal")


@api_route(
    "/alerts/<id:alert_id>/attachments",
    methods=("POST",),
    summary="Attach an evidence file (multipart field `file`, optional `note`)",
    request_body={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "note": {"type": "string"},
                    },
                }
            }
        },
    },
    responses={
        200: json_response("The alert, with the stored reference", _OBJECT),
        404: "No such alert",
    },
    roles=(*MANAGERS, Role.DISTRIBUTOR),
    tags=("alerts",),
)
def alert_attach(alert_id: int) -> ResponseReturnValue:
    _visible_alert(alert_id)
    ref = store_upload(request.files.get("file"))
    try:
        view = settlement.attach_file(
            get_engine(), alert_id, ref, current_actor(), note=request.form.get("note", "")
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    out = alert_json(view, party_codes([view.party_id]))
    out["attachment_ref"] = ref
    return jsonify(out)


# ------------------------------------------------------------------ whistleblower reports


def report_json(r: settlement.ReportView, keys: dict[int, str]) -> dict[str, Any]:
    out = dataclasses.asdict(r)
    out["unit_key"] = keys.get(r.unit_id)
    return out


@api_route(
    "/reports",
    summary="Whistleblower reports, newest first (a distributor: those it filed)",
    params=(
        query_param("status", "string", enum=["open", "confirmed", "rejected"]),
        *page_params("reports"),
    ),
    responses={200: paged_response("The reports", _LIST)},
    roles=REPORT_READERS,
    tags=("reports",),
)
def reports_list() -> ResponseReturnValue:
    try:
        reports = settlement.list_reports(get_engine(), current_actor(), status=query_str("status"))
    except settlement.SettlementError as exc:
        abort_for(exc)
    offset, limit = page_window()
    shown = window_of(reports, offset, limit)
    keys = unit_keys(r.unit_id for r in shown)
    body = [report_json(r, keys) for r in shown]
    return paged(jsonify(body), len(reports), offset, limit, len(body))


def parse_seen(raw: str) -> int:
    """``YYYY-MM-DDTHH:MM`` (UTC; seconds and a ``Z`` allowed) as epoch milliseconds."""
    text = raw.strip().removesuffix("Z")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        abort(422, f"'seen_at' must be a date and time like 2026-10-05T14:30, got {raw!r}")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp() * 1000)


def parse_coordinate(raw: str, name: str, limit: float) -> int | None:
    """Decimal degrees as micro-degrees; None when empty; 422 naming the field otherwise."""
    if not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        abort(422, f"{name!r} must be decimal degrees, got {raw!r}")
    if not -limit <= value <= limit:
        abort(422, f"{name!r} must be between -{limit:g} and {limit:g}, got {raw!r}")
    return round(value * 1_000_000)


def file_report_now(
    unit: str, seen_at: str, lat: str, lon: str, territory: str, note: str
) -> settlement.ReportView:
    """File a distributor's report from form or JSON fields (422 naming what is wrong)."""
    actor = current_actor()
    if actor.party_id is None:
        abort(403, f"{actor.username} acts for no party")
    try:
        key = resolve_key(unit)
    except ValueError as exc:
        abort(422, f"not a unit: {exc}")
    lat_e6 = parse_coordinate(lat, "lat", 90)
    lon_e6 = parse_coordinate(lon, "lon", 180)
    if (lat_e6 is None) != (lon_e6 is None):
        abort(422, "give both latitude and longitude, or neither")
    try:
        return settlement.file_report(
            get_engine(),
            actor.party_id,
            key,
            parse_seen(seen_at),
            actor,
            lat_e6=lat_e6,
            lon_e6=lon_e6,
            territory_code=territory.strip().upper(),
            note=note.strip(),
        )
    except settlement.SettlementError as exc:
        abort_for(exc)


@api_route(
    "/reports",
    methods=("POST",),
    summary="Report a unit seen outside its zone (distributors)",
    description="`unit`: a unit key, a Digital Link URL or what a scanner read; "
    "`seen_at`: `YYYY-MM-DDTHH:MM` UTC; optional `lat`/`lon` (decimal degrees), "
    "`territory` (a territory code) and `note`.",
    request_body=_request_body("unit", "seen_at", "lat", "lon", "territory", "note"),
    responses={201: json_response("The report", _OBJECT)},
    roles=(Role.DISTRIBUTOR,),
    tags=("reports",),
)
def report_file() -> ResponseReturnValue:
    b = _text_body("unit", "seen_at", "lat", "lon", "territory", "note", required="unit")
    if not b["seen_at"].strip():
        abort(422, "'seen_at' is required")
    r = file_report_now(b["unit"], b["seen_at"], b["lat"], b["lon"], b["territory"], b["note"])
    return jsonify(report_json(r, unit_keys([r.unit_id]))), 201


@api_route(
    "/reports/<id:report_id>/confirm",
    methods=("POST",),
    summary="Confirm a report, linking it to the confirmed alert it helped prove",
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"alert_id": ID_SCHEMA}}
            }
        },
    },
    responses={200: json_response("The report", _OBJECT)},
    roles=MANAGERS,
    tags=("reports",),
)
def report_confirm(report_id: int) -> ResponseReturnValue:
    alert_id = json_body().get("alert_id")
    if not isinstance(alert_id, int) or isinstance(alert_id, bool) or not 1 <= alert_id <= ID_MAX:
        abort(422, "'alert_id' must be the id of a confirmed alert")
    try:
        r = settlement.confirm_report(get_engine(), report_id, alert_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify(report_json(r, unit_keys([r.unit_id])))


@api_route(
    "/reports/<id:report_id>/reject",
    methods=("POST",),
    summary="Reject a report",
    request_body=_NOTE_BODY,
    responses={200: json_response("The report", _OBJECT)},
    roles=MANAGERS,
    tags=("reports",),
)
def report_reject(report_id: int) -> ResponseReturnValue:
    note = _text_body("note")["note"] if request.content_length else ""
    try:
        r = settlement.reject_report(get_engine(), report_id, current_actor(), note)
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify(report_json(r, unit_keys([r.unit_id])))


# ------------------------------------------------------------------ runs


def run_json(run: settlement.RunView) -> dict[str, Any]:
    return dataclasses.asdict(run)


def visible_run(run_id: int) -> settlement.RunView:
    try:
        return settlement.get_run(get_engine(), run_id)
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@api_route(
    "/runs",
    summary="Settlement runs, newest first",
    params=(
        query_param("period", "string", description="YYYY-MM or YYYY-Qn", pattern=PERIOD_PATTERN),
        *page_params("runs"),
    ),
    responses={200: paged_response("The runs", _LIST)},
    roles=FINANCE_READERS,
    tags=("settlement",),
)
def runs_list() -> ResponseReturnValue:
    runs = settlement.list_runs(get_engine(), query_str("period"))
    offset, limit = page_window()
    body = [run_json(r) for r in window_of(runs, offset, limit)]
    return paged(jsonify(body), len(runs), offset, limit, len(body))


@api_route(
    "/runs",
    methods=("POST",),
    summary="Create a draft run for a period (finance)",
    description="`period`: YYYY-MM or YYYY-Qn; `kind`: final (default) or partial; "
    "`reporting_currency` (default EUR). Reads the ledger as of the newest signed checkpoint.",
    request_body=_request_body("period", "kind", "reporting_currency"),
    responses={201: json_response("The draft run", _OBJECT)},
    roles=(Role.FINANCE,),
    tags=("settlement",),
)
def run_create() -> ResponseReturnValue:
    b = _text_body("period", "kind", "reporting_currency", required="period")
    try:
        run = settlement.create_run(
            get_engine(),
            b["period"].strip(),
            b["kind"].strip() or "final",
            current_actor(),
            reporting_currency=b["reporting_currency"].strip().upper() or "EUR",
        )
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify(run_json(run)), 201


def summary_json(summ: settlement.RunSummary) -> dict[str, Any]:
    return dataclasses.asdict(summ)


@api_route(
    "/runs/<id:run_id>",
    summary="One run with its totals per class, region and currency",
    responses={200: json_response("The run", _OBJECT), 404: "No such run", 409: _TAMPERED},
    roles=FINANCE_READERS,
    tags=("settlement",),
)
def run_detail(run_id: int) -> ResponseReturnValue:
    out = run_json(visible_run(run_id))
    try:
        out["summary"] = summary_json(settlement.run_summary(get_engine(), run_id, current_actor()))
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify(out)


@api_route(
    "/runs/<id:run_id>/chart.png",
    summary="Rebates vs penalties per partner class (PNG)",
    responses={
        200: {"description": "The chart", "content": {"image/png": {}}},
        404: "No such run",
        409: _TAMPERED,
    },
    roles=FINANCE_READERS,
    tags=("settlement",),
)
def run_chart(run_id: int) -> ResponseReturnValue:
    visible_run(run_id)
    try:
        png = settlement.run_chart_png(get_engine(), run_id, current_actor(), page_words())
    except settlement.SettlementError as exc:
        abort_for(exc)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


def _run_action(run_id: int, action: str) -> ResponseReturnValue:
    visible_run(run_id)
    engine, actor = get_engine(), current_actor()
    try:
        if action == "discard":
            settlement.discard_run(engine, run_id, actor)
            return jsonify({"id": run_id, "discarded": True})
        if action == "approve":
            return jsonify(run_json(settlement.approve_run(engine, run_id, actor)))
        posted = settlement.post_run(engine, run_id, actor, signer=get_signer())
        after_run_posted(engine, run_id, actor, tell=False)  # the statements' e-mails
        return jsonify(run_json(posted))
    except settlement.SettlementError as exc:
        abort_for(exc)


@api_route(
    "/runs/<id:run_id>/approve",
    methods=("POST",),
    summary="Approve a draft run (a finance user other than its creator)",
    responses={
        200: json_response("The run", _OBJECT),
        404: "No such run",
        409: f"Not allowed now, or: {_TAMPERED}",
    },
    roles=(Role.FINANCE,),
    tags=("settlement",),
)
def run_approve(run_id: int) -> ResponseReturnValue:
    return _run_action(run_id, "approve")


@api_route(
    "/runs/<id:run_id>/post",
    methods=("POST",),
    summary="Post an approved run: book it and freeze it",
    responses={
        200: json_response("The run", _OBJECT),
        404: "No such run",
        409: f"Not allowed now, or: {_TAMPERED}",
    },
    roles=(Role.FINANCE,),
    tags=("settlement",),
)
def run_post(run_id: int) -> ResponseReturnValue:
    return _run_action(run_id, "post")


@api_route(
    "/runs/<id:run_id>/discard",
    methods=("POST",),
    summary="Discard a draft or approved run",
    responses={
        200: json_response("Discarded", _OBJECT),
        404: "No such run",
        409: f"Posted, or: {_TAMPERED}",
    },
    roles=(Role.FINANCE,),
    tags=("settlement",),
)
def run_discard(run_id: int) -> ResponseReturnValue:
    return _run_action(run_id, "discard")


# ------------------------------------------------------------------ statements


@api_route(
    "/statements",
    summary="Statements: of a run (finance, admin, auditors) or a distributor's own",
    params=(id_param("run_id"), *page_params("statements")),
    responses={200: paged_response("The statements", _LIST)},
    roles=STATEMENT_READERS,
    tags=("settlement",),
)
def statements_list() -> ResponseReturnValue:
    try:
        rows = settlement.list_statements(get_engine(), current_actor(), run_id=query_int("run_id"))
    except settlement.SettlementError as exc:
        abort_for(exc)
    offset, limit = page_window()
    body = [dataclasses.asdict(r) for r in window_of(rows, offset, limit)]
    return paged(jsonify(body), len(rows), offset, limit, len(body))


def visible_statement(statement_id: int) -> settlement.StatementView:
    try:
        return settlement.get_statement(get_engine(), statement_id, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc, not_found=True)


@api_route(
    "/statements/<id:statement_id>",
    summary="One statement with its lines (rule, basis, rate, amount, ref)",
    responses={
        200: json_response("The statement", _OBJECT),
        404: "No such statement",
        409: _TAMPERED,
    },
    roles=STATEMENT_READERS,
    tags=("settlement",),
)
def statement_detail(statement_id: int) -> ResponseReturnValue:
    return jsonify(dataclasses.asdict(visible_statement(statement_id)))


def statement_download_response(statement_id: int, fmt: str, lang: str | None = None) -> Response:
    """The statement as a CSV, XLSX or PDF attachment (404 if not the caller's).

    The file is in the statement's party's language (``parties.locale``, else
    English), whoever downloads it and whatever language their pages are in;
    ``lang`` (``en``, ``zh_Hans_CN``, ``es``; also ``zh``, ``zh-CN``) asks for
    another one (finance reading a Chinese distributor's statement in English).
    400 for a format or language that is not offered."""
    if fmt not in DOWNLOAD_TYPES:
        offered = ", ".join(DOWNLOAD_TYPES)
        raise BadParameter(
            "format",
            f"format must be one of {offered}, got {fmt!r}",
            lazy_gettext(
                "%(name)s must be %(what)s, got %(value)s",
                name="format",
                what=lazy_gettext("one of %(values)s", values=offered),
                value=repr(fmt),
            ),
        )
    chosen = settlement.supported_locale(lang)
    if lang is not None and chosen is None:
        offered = ", ".join(settlement.DOCUMENT_LOCALES)
        raise BadParameter(
            "lang",
            f"lang must be one of {offered}, got {lang!r}",
            lazy_gettext(
                "%(name)s must be %(what)s, got %(value)s",
                name="lang",
                what=lazy_gettext("one of %(values)s", values=offered),
                value=repr(lang),
            ),
        )
    st = visible_statement(statement_id)
    locale = chosen or settlement.supported_locale(st.party_locale) or DEFAULT_LOCALE
    render = {
        "csv": settlement.statement_csv,
        "xlsx": settlement.statement_xlsx,
        "pdf": settlement.statement_pdf,
    }[fmt]
    data = render(get_engine(), statement_id, current_actor(), document_words(locale))
    name = f"statement-{st.id}-{st.party_code}.{fmt}"
    return Response(
        data,
        content_type=DOWNLOAD_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Language": locale.replace("_", "-"),
        },
    )


@api_route(
    "/statements/<id:statement_id>/download",
    summary="A statement as CSV, XLSX or PDF, in the party's language",
    params=(
        query_param("format", "string", enum=list(DOWNLOAD_TYPES), default="csv"),
        query_param(
            "lang",
            "string",
            description="The document's language instead of the party's (parties.locale, "
            "else en): en, zh_Hans_CN or es (zh, zh-CN, es-ES also read). CSV amounts "
            "stay plain decimals with a dot in every language.",
            maxLength=16,
        ),
    ),
    responses={
        200: {
            "description": "The file",
            "content": {t.split(";")[0]: {} for t in DOWNLOAD_TYPES.values()},
        },
        404: "No such statement",
        409: _TAMPERED,
    },
    roles=STATEMENT_READERS,
    tags=("settlement",),
)
def statement_download(statement_id: int) -> ResponseReturnValue:
    return statement_download_response(
        statement_id, query_str("format") or "csv", query_str("lang") or None
    )


# ------------------------------------------------------------------ partner scores


def score_json(s: settlement.PartnerScoreView) -> dict[str, Any]:
    out = dataclasses.asdict(s)
    out["score"] = str(s.score)
    return out


@api_route(
    "/partner-scores",
    summary="Partner class scores of a quarter, best first, with their breakdown",
    params=(
        query_param(
            "quarter", "string", required=True, description="YYYY-Qn", pattern=QUARTER_PATTERN
        ),
        *page_params("scores"),
    ),
    responses={200: paged_response("The scores", _LIST)},
    roles=FINANCE_READERS,
    tags=("settlement",),
)
def partner_scores() -> ResponseReturnValue:
    quarter = query_str("quarter") or ""
    scores = settlement.list_partner_scores(get_engine(), quarter)
    offset, limit = page_window()
    body = [score_json(s) for s in window_of(scores, offset, limit)]
    return paged(jsonify(body), len(scores), offset, limit, len(body))


@api_route(
    "/partner-scores",
    methods=("POST",),
    summary="Score every distributor for a quarter (replaces that quarter's scores)",
    request_body=_request_body("quarter"),
    responses={200: json_response("The scores", _LIST)},
    roles=(Role.FINANCE, Role.ADMIN),
    tags=("settlement",),
)
def partner_scores_compute() -> ResponseReturnValue:
    quarter = _text_body("quarter", required="quarter")["quarter"].strip()
    try:
        scores = settlement.score_partners(get_engine(), quarter, current_actor())
    except settlement.SettlementError as exc:
        abort_for(exc)
    return jsonify([score_json(s) for s in scores])
