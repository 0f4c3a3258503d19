"""User look-up for the token form's user picker: ``GET /api/v1/users?q=PREFIX``.

Administrators only (the users' list is theirs: web/admin.py). Suggests active
people and service users whose username or display name starts with ``q``
(case-insensitive), by username; ``web/static/party_picker.js`` fills a
``<datalist>`` with them.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, or_, select

from web.api import api_route, json_response, query_int, query_param, query_str
from web.db import get_session
from web.models import User
from web.roles import Role

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
                    "role": {"type": "string"},
                    "service": {"type": "boolean"},
                },
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
    "only (people and service users), by username. Administrators only: the token form's "
    "user field suggests through it.",
    params=(
        query_param(
            "q", "string", maxLength=MAX_QUERY, description="Start of a username or a name."
        ),
        query_param("limit", minimum=1, maximum=50, default=20, description="At most this many."),
    ),
    responses={200: json_response("Matching users", _CHOICES)},
    roles=(Role.ADMIN,),
    tags=("users",),
)
def users() -> ResponseReturnValue:
    text = (query_str("q", "") or "").strip().lower()[:MAX_QUERY]
    limit = query_int("limit", 20) or 20
    prefix = _escape_like(text) + "%"
    rows = get_session().execute(
        select(User.username, User.display_name, User.role, User.service)
        .where(
            User.active.is_(True),
            or_(
                func.lower(User.username).like(prefix, escape="\\"),
                func.lower(User.display_name).like(prefix, escape="\\"),
            ),
        )
        .order_by(User.username)
        .limit(limit)
    )
    return jsonify(
        {
            "items": [
                {
                    "username": str(name),
                    "display_name": str(display or ""),
                    "role": str(role),
                    "service": bool(service),
                }
                for name, display, role, service in rows
            ]
        }
    )
