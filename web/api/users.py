"""User look-up for the pickers: ``GET /api/v1/users?q=PREFIX[&works=alerts]``.

Suggests active users whose username or display name starts with ``q``
(case-insensitive), by username; ``web/static/party_picker.js`` fills a
``<datalist>`` with them. Administrators see every active user (people and service
users; the token form's user field) with role and service flag, or with
``works=alerts`` only the people who may work alerts. Channel managers (the alert
page's "Assign to" field) always get only people whose role may work alerts
(:data:`settlement.ALERT_WORKERS`), and only their username and display name.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

import settlement
from web.api import api_route, json_response, query_int, query_param, query_str
from web.db import get_session
from web.models import User
from web.roles import Role
from web.security import current_principal

__all__ = ["MAX_QUERY"]

#: The longest prefix looked up (a username is at most 64 characters).
MAX_QUERY = 64

_CHOICES = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "display_name": {"type": "string"},
                    "role": {"type": "string", "description": "Administrators only."},
                    "service": {"type": "boolean", "description": "Administrators only."},
                },
                "required": ["username", "display_name"],
            },
        }
    },
}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@api_route(
    "/users",
    summary="Active users whose username or display name starts with q (a picker's suggestions)",
    description="Case-insensitive prefix of the username or the display name, active users "
    "only, by username. Administrators get every active user (people and service users) with "
    "`role` and `service` (the token form's user field), or with `works=alerts` only the people "
    "who may work alerts. Channel managers get only people who may work alerts (channel managers "
    "and administrators: the alert page's Assign to field), and only `username` and "
    "`display_name`.",
    params=(
        query_param(
            "q", "string", maxLength=MAX_QUERY, description="Start of a username or a name."
        ),
        query_param(
            "works",
            "string",
            enum=["alerts"],
            description="`alerts`: only people who may work alerts (always so for channel "
            "managers).",
        ),
        query_param("limit", minimum=1, maximum=50, default=20, description="At most this many."),
    ),
    responses={200: json_response("Matching users", _CHOICES)},
    roles=(Role.ADMIN, Role.CHANNEL_MANAGER),
    tags=("users",),
)
def users() -> ResponseReturnValue:
    text = (query_str("q", "") or "").strip().lower()[:MAX_QUERY]
    limit = query_int("limit", 20) or 20
    principal = current_principal()
    admin = principal is not None and principal.role is Role.ADMIN
    workers_only = not admin or query_str("works") == "alerts"
    prefix = _escape_like(text) + "%"
    query = select(User.username, User.display_name, User.role, User.service).where(
        User.active.is_(True),
        or_(
            func.lower(User.username).like(prefix, escape="\\"),
            func.lower(User.display_name).like(prefix, escape="\\"),
        ),
    )
    if workers_only:
        query = query.where(User.role.in_(settlement.ALERT_WORKERS), User.service.is_(False))
    rows = get_session().execute(query.order_by(User.username).limit(limit))
    items: list[dict[str, object]] = []
    for name, display, role, service in rows:
        item: dict[str, object] = {"username": str(name), "display_name": str(display or "")}
        if admin:
            item |= {"role": str(role), "service": bool(service)}
        items.append(item)
    return jsonify({"items": items})
