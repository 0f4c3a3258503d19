"""The JSON API under ``/api/v1``: one blueprint, endpoint modules per topic.

To add a topic, write ``web/api/<topic>.py`` that does::

    from web.api import api_route, json_body, query_int
    from web.roles import Role

    @api_route("/things/<int:thing_id>", summary="One thing", roles=(Role.ADMIN,))
    def thing(thing_id: int) -> dict[str, object]: ...

and add ``"<topic>"`` to :data:`ENDPOINT_MODULES`. A listed module that is missing
is an error on purpose: silently losing endpoints is worse than not starting.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Blueprint, Flask, abort, jsonify, request
from flask.typing import ResponseReturnValue

from web.api.openapi import Operation, build_document, json_response, make_api_route, query_param

__all__ = [
    "ENDPOINT_MODULES",
    "api",
    "api_route",
    "json_body",
    "json_response",
    "operations",
    "query_int",
    "query_param",
    "register",
]

# Modules of web.api that declare endpoints, imported by register().
ENDPOINT_MODULES: tuple[str, ...] = (
    "health",
    "me",
    "ledger",
    "scans",
    "units",
    "territories",
    "settlement",
    "money",
    "reference",
    "disputes",
)

api = Blueprint("api", __name__, url_prefix="/api/v1")
_operations: list[Operation] = []
api_route = make_api_route(api, _operations)


def operations() -> tuple[Operation, ...]:
    """Every declared operation (for the OpenAPI document and its tests)."""
    return tuple(_operations)


def register(app: Flask) -> None:
    """Import the endpoint modules (once per process) and mount the blueprint on ``app``."""
    for name in ENDPOINT_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    app.register_blueprint(api)


def json_body() -> dict[str, Any]:
    """The request's JSON object: 400 when the body is not JSON, 422 when not an object."""
    if not request.is_json:
        abort(400, "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if body is None:
        abort(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        abort(422, "the body must be a JSON object")
    return body


def query_int(name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
    """An integer query parameter; 400 naming it when it is not one or is below ``minimum``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        abort(400, f"query parameter {name!r} must be an integer")
    if minimum is not None and value < minimum:
        abort(400, f"query parameter {name!r} must be at least {minimum}")
    return value


@api_route(
    "/openapi.json",
    summary="This API's OpenAPI 3.1 document",
    responses={200: json_response("The OpenAPI document", {"type": "object"})},
    roles=None,
    tags=("meta",),
)
def openapi_document() -> ResponseReturnValue:
    return jsonify(build_document(_operations))
