"""Liveness for load balancers and monitoring: public, reveals that we answer and
how far the newest signed checkpoint trails the ledger (what the public checkpoint
already shows, plus the number of entries not yet signed and the checkpoint's age)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ledger.checkpoint import checkpoint_gap
from web.api import api_route, json_response
from web.db import get_engine, get_session

_HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "database"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "database": {"type": "string", "enum": ["ok", "unreachable"]},
        "ledger": {
            "type": "object",
            "description": "How far the newest signed checkpoint trails the ledger's head",
            "required": [
                "tree_size",
                "checkpoint_size",
                "unsigned_entries",
                "checkpoint_age_seconds",
                "checkpoint_ahead",
            ],
            "properties": {
                "tree_size": {"type": "integer", "minimum": 0},
                "checkpoint_size": {"type": "integer", "minimum": 0},
                "unsigned_entries": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Entries appended after the newest checkpoint",
                },
                "checkpoint_age_seconds": {
                    "type": ["number", "null"],
                    "minimum": 0,
                    "description": "Seconds since the newest checkpoint was signed; null: none yet",
                },
                "checkpoint_ahead": {
                    "type": "boolean",
                    "description": "The newest checkpoint covers more entries than the log holds",
                },
            },
        },
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
        gap = checkpoint_gap(get_engine())
    except SQLAlchemyError:
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok", "ledger": gap.as_json()}
