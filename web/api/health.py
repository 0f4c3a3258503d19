"""Liveness for load balancers and monitoring: public, reveals only that we answer."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from web.api import api_route, json_response
from web.db import get_session

_HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "database": {"type": "string", "enum": ["ok", "unreachable"]},
    },
}


@api_route(
    "/health",
    summary="Whether the service and its database answer",
    responses={
        200: json_response("Serving", _HEALTH_SCHEMA),
        503: json_response("The database does not answer", _HEALTH_SCHEMA),
    },
    roles=None,
    tags=("meta",),
)
def health() -> ResponseReturnValue:
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
