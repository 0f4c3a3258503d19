"""The JSON API under ``/api/v1``: one blueprint, endpoint modules per topic.

To add a topic, write ``web/api/<topic>.py`` that does::

    from web.api import api_route, json_body, query_int, query_param
    from web.roles import Role

    @api_route(
        "/things/<id:thing_id>",
        summary="One thing",
        params=(query_param("limit", minimum=1, maximum=500, default=50),),
        roles=(Role.ADMIN,),
    )
    def thing(thing_id: int) -> dict[str, object]:
        limit = query_int("limit")  # already checked: an int from 1 to 500
        ...

and add ``"<topic>"`` to :data:`ENDPOINT_MODULES`. A listed module that is missing
is an error on purpose: silently losing endpoints is worse than not starting.

Ids in paths are ``<id:...>`` (``<seq:...>`` for a ledger seq): out of range is
404 before the view runs. Query parameters are checked against their declaration
before the view runs (400 naming the parameter, also for a parameter the endpoint
does not declare); ``query_int``/``query_str``/
``query_float``/``query_bool`` then return the typed, checked values.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from typing import Any

from flask import Blueprint, Flask, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from web.api.openapi import (
    CURSOR_PATTERN,
    DAY_PATTERN,
    MONTH_PATTERN,
    PERIOD_PATTERN,
    QUARTER_PATTERN,
    Operation,
    build_document,
    id_param,
    json_response,
    make_api_route,
    query_param,
    validated_query,
)
from web.errors import refuse
from web.i18n import N_

__all__ = [
    "CURSOR_PATTERN",
    "DAY_PATTERN",
    "ENDPOINT_MODULES",
    "MONTH_PATTERN",
    "PERIOD_PATTERN",
    "QUARTER_PATTERN",
    "api",
    "api_route",
    "id_param",
    "json_body",
    "json_response",
    "operations",
    "query_bool",
    "query_day",
    "query_float",
    "query_int",
    "query_param",
    "query_str",
    "register",
    "unstorable_text",
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
    "parties",
    "users",
    "recruitment",
    "exits",
    "agreements",
    "evaluation",
    "crm",
    "credit",
    "credit_alerts",
    "risk_register",
    "credit_accuracy",
    "credit_assess",
    "credit_items",
    "evidence",
    "suspects",
    "inspections",
)

api = Blueprint("api", __name__, url_prefix="/api/v1")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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
    """The request's JSON object: 400 when the body is not JSON, 422 when not an object
    or when some text in it cannot be stored (see :func:`unstorable_text`)."""
    if not request.is_json:
        abort(400, N_("send a JSON body with Content-Type: application/json"))
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # not a ValueError, so get_json(silent=True) lets it through
        abort(400, N_("the body is not valid JSON: it is nested too deeply"))
    if body is None:
        abort(400, N_("the body is not valid JSON"))
    if not isinstance(body, dict):
        abort(422, N_("the body must be a JSON object"))
    problem = unstorable_text(body)
    if problem is not None:
        abort(422, problem)
    return body


def unstorable_text(value: Any) -> str | None:
    """Where ``value`` (parsed JSON) holds text no database column can store, in words.

    JSON may carry ``\\u0000`` (PostgreSQL text refuses NUL) and lone surrogates
    such as ``\\ud800`` (not Unicode scalar values, so not encodable as UTF-8;
    RFC 8259 §8.2 leaves them undefined). Keys are checked too. Returns e.g.
    ``"$.party holds a NUL character (\\u0000), which text may not contain"``,
    or None when every string is storable.
    """
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:  # iterative: a document nested as deep as the parser allows is fine
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return f"{path} holds a NUL character (\\u0000), which text may not contain"
            if any("\ud800" <= c <= "\udfff" for c in item):
                return f"{path} holds a lone UTF-16 surrogate, which is not Unicode text"
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                step = f"{path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{path}[{key!r}]"
                stack.append((child, step))
                stack.append((key, f"a key of {path}"))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(item))))
    return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable_text(key, f"{path} (a key)") or unstorable_text(
                item, f"{path}.{key}" if _PLAIN_KEY.fullmatch(key) else f"{path}[{key!r}]"
            )
            if problem is not None:
                return problem
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problem = unstorable_text(item, f"{path}[{i}]")
            if problem is not None:
                return problem
    return None


def _declared(name: str) -> tuple[bool, Any]:
    """Whether ``name`` was declared (and so checked), and its value.

    Raises ``LookupError`` when an ``api_route`` endpoint reads a query parameter
    it did not declare: what is read must be what the document describes.
    """
    if "hopchain_query" not in g:  # a view outside api_route (tests, legacy)
        return False, None
    values = validated_query()
    if name not in values:
        raise LookupError(f"query parameter {name!r} is not declared for {request.endpoint}")
    return True, values[name]


def query_int(name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
    """An integer query parameter.

    Declared with ``query_param``: the value the wrapper checked (its declared
    default, else ``default``, when absent). Undeclared (views outside
    ``api_route``): parsed here, 400 naming it when it is not an integer or is
    below ``minimum``.
    """
    declared, value = _declared(name)
    if declared:
        return default if value is None else int(value)
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        refuse(400, N_("query parameter %(name)s must be an integer"), name=repr(name))
    if minimum is not None and value < minimum:
        refuse(
            400,
            N_("query parameter %(name)s must be at least %(minimum)s"),
            name=repr(name),
            minimum=minimum,
        )
    return value


def query_str(name: str, default: str | None = None) -> str | None:
    """A declared string query parameter as checked (``default`` when absent or empty)."""
    declared, value = _declared(name)
    if not declared:
        value = request.args.get(name) or None
    return default if value is None else str(value)


def query_day(name: str) -> dt.date | None:
    """A declared ``YYYY-MM-DD`` query parameter as a date (None when absent or empty);
    400 naming it for a day that does not exist (``2026-02-30``), which the pattern
    alone lets through."""
    raw = query_str(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        refuse(
            400,
            N_("query parameter %(name)s: %(value)s is not a day of the calendar (YYYY-MM-DD)"),
            name=repr(name),
            value=repr(raw),
        )


def query_float(name: str, default: float | None = None) -> float | None:
    """A declared number query parameter as checked (``default`` when absent)."""
    declared, value = _declared(name)
    if not declared:
        raise LookupError(f"query parameter {name!r} is not declared with query_param()")
    return default if value is None else float(value)


def query_bool(name: str, default: bool = False) -> bool:
    """A declared boolean query parameter as checked (``true``/``1``, ``false``/``0``)."""
    declared, value = _declared(name)
    if not declared:
        raise LookupError(f"query parameter {name!r} is not declared with query_param()")
    return default if value is None else bool(value)


@api_route(
    "/openapi.json",
    summary="This API's OpenAPI 3.1 document",
    responses={200: json_response("The OpenAPI document", {"type": "object"})},
    roles=None,
    tags=("meta",),
)
def openapi_document() -> ResponseReturnValue:
    return jsonify(build_document(_operations))
