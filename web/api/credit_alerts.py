"""Credit alerts and the thresholds that raise them, as JSON (issue 13; the rules
are in :mod:`risk.credit_alerts` and :mod:`risk.thresholds`).

- ``GET /credit/alerts`` (newest first; ``status``, ``kind``, ``party`` filters;
  paged), ``POST /credit/alerts/{id}/acknowledge``, ``POST /credit/alerts/{id}/close``;
- ``GET /credit/thresholds``, ``PUT /credit/thresholds`` (one threshold: kind,
  value, enabled, emails).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ledger.models import Party
from ledger.said import SaidError
from partners.errors import PartnerNotFound
from risk import credit_alerts as ca
from risk import thresholds as th
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api.body import known
from web.api.body import request_json as json_request
from web.api.evaluation import body_field
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine, get_session
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = ["alert_json"]

_OBJECT = {"type": "object"}
_READERS = tuple(Role(r) for r in ca.ALERT_READERS)
_WRITERS = tuple(Role(r) for r in ca.ALERT_WRITERS)
_SETTERS = tuple(Role(r) for r in th.SETTERS)


def alert_json(a: ca.CreditAlertView) -> dict[str, Any]:
    """A credit alert as the API answers it (money in ``detail`` in minor units)."""
    return {
        "id": a.id, "party": a.party_code, "party_name": a.party_name, "kind": a.kind,
        "key": a.key, "detail": a.detail, "status": a.status, "raised_ms": a.raised_ms,
        "closed_ms": a.closed_ms, "closed_by": a.closed_by or None, "note": a.note,
    }  # fmt: skip


@api_route(
    "/credit/alerts",
    summary="Credit alerts, newest first",
    description="Filter by `status` (open, acknowledged, closed), `kind` "
    f"({', '.join(ca.ALERT_KINDS)}) and `party` (code). Answers `{{items, total}}`; each "
    "alert's `detail` holds the figures that raised it (money in minor units with its "
    "`currency`).",
    params=(
        query_param("status", "string", enum=list(ca.ALERT_STATUSES)),
        query_param("kind", "string", enum=list(ca.ALERT_KINDS)),
        query_param("party", "string", maxLength=64, description="Party code."),
        *page_params("alerts", maximum=500),
    ),
    responses={200: paged_response("A page of credit alerts", _OBJECT), 404: "No such party"},
    roles=_READERS,
    tags=("credit",),
)
def credit_alerts_list() -> ResponseReturnValue:
    offset, limit = page_window()
    party_id = None
    code = query_str("party")
    if code is not None:
        party_id = get_session().scalar(select(Party.id).where(Party.code == code))
        if party_id is None:
            abort_for(PartnerNotFound.said("no_credit_party", "no party %(party)s", party=code))
    try:
        rows, total = ca.list_alerts(
            get_engine(), current_actor(), status=query_str("status"), kind=query_str("kind"),
            party_id=party_id, offset=offset, limit=limit,
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    body = jsonify(items=[alert_json(a) for a in rows], total=total)
    return paged(body, total, offset, limit, len(rows))


@api_route(
    "/credit/alerts/<id:alert_id>/acknowledge",
    methods=("POST",),
    summary="Acknowledge an open credit alert (someone is on it)",
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        409: "The alert is not open",
    },
    roles=_WRITERS,
    tags=("credit",),
)
def credit_alert_acknowledge(alert_id: int) -> ResponseReturnValue:
    try:
        view = ca.acknowledge_alert(get_engine(), alert_id, current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(alert_json(view))


@api_route(
    "/credit/alerts/<id:alert_id>/close",
    methods=("POST",),
    summary="Close a credit alert with what was done",
    description='Body `{"note": "called the partner; paid on 12-03"}` (optional).',
    request_body=json_request({"note": {"type": "string"}}),
    responses={
        200: json_response("The alert", _OBJECT),
        404: "No such alert",
        409: "The alert is closed already",
    },
    roles=_WRITERS,
    tags=("credit",),
)
def credit_alert_close(alert_id: int) -> ResponseReturnValue:
    body = json_body()
    known(body, ("note",))
    note = body_field(body, "note", str) or ""
    try:
        view = ca.close_alert(get_engine(), alert_id, current_actor(), note)
    except SaidError as exc:
        abort_for(exc)
    return jsonify(alert_json(view))


@api_route(
    "/credit/thresholds",
    summary="The thresholds that raise credit alerts",
    description="Kinds: utilisation (per cent of the limit), overdue (days past due), "
    "health_drop (points), kpi_miss (quarters in a row). Answers `{items}`.",
    responses={200: json_response("Every threshold", _OBJECT)},
    roles=_READERS,
    tags=("credit",),
)
def credit_thresholds_list() -> ResponseReturnValue:
    try:
        rows = th.list_thresholds(get_engine(), current_actor())
    except SaidError as exc:
        abort_for(exc)
    return jsonify(items=[th.threshold_json(t) for t in rows])


@api_route(
    "/credit/thresholds",
    methods=("PUT",),
    summary="Add or change one threshold",
    description='Body `{"kind": "overdue", "value": 45, "enabled": true, "emails": true}`; '
    "`enabled` and `emails` default to true. `enabled: false` stops checking it.",
    request_body=json_request(
        {
            "kind": {"type": "string", "enum": list(th.THRESHOLD_KINDS)},
            "value": {"type": "integer"},
            "enabled": {"type": "boolean"},
            "emails": {"type": "boolean"},
        },
        ("kind", "value"),
    ),
    responses={200: json_response("The threshold", _OBJECT), 422: "A bad kind or value"},
    roles=_SETTERS,
    tags=("credit",),
)
def credit_threshold_put() -> ResponseReturnValue:
    body = json_body()
    known(body, ("kind", "value", "enabled", "emails"))
    kind = body_field(body, "kind", str, required=True)
    value = body_field(body, "value", int, required=True)
    enabled = body_field(body, "enabled", bool)
    emails = body_field(body, "emails", bool)
    try:
        view = th.set_threshold(
            get_engine(), current_actor(), kind, value,
            enabled=True if enabled is None else enabled, emails=True if emails is None else emails,
        )  # fmt: skip
    except SaidError as exc:
        abort_for(exc)
    return jsonify(th.threshold_json(view))
