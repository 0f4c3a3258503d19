"""The members of a JSON request body, one way for the partner-management API
(agreements, exits, parties, recruitment, evaluation, CRM).

:func:`request_json` declares the body in the OpenAPI document; the readers
(:func:`known`, :func:`text`, :func:`whole`, :func:`strings`) answer 400 naming
the member by its JSON path (``$.valid_to must be a string``) before any service
is called, and :func:`refuse` turns a service's refusal into the HTTP answer: 400
naming the JSON path of a member that cannot be stored
(:class:`partners.values.InvalidField`, the reason also in the request's
language), else :func:`web.settlement_access.abort_for` (404 unknown, 403 role,
409 state, 422 anything else).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from flask import abort
from werkzeug.exceptions import BadRequest

from ledger.said import SaidError
from partners.values import InvalidField
from web.reasons import reason_words
from web.settlement_access import abort_for

__all__ = ["known", "refuse", "request_json", "strings", "text", "whole"]


def request_json(properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    """An OpenAPI request body: a JSON object with ``properties`` (``required``
    listed when any)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def known(body: dict[str, Any], allowed: Sequence[str]) -> None:
    """400 naming the first member of ``body`` that is not one of ``allowed``."""
    for key in body:
        if key not in allowed:
            abort(400, f"$.{key} is not a member of this body; it takes {', '.join(allowed)}")


def text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """``body[name]`` as a string; None when absent or null (400 when ``required``);
    400 when of another type."""
    value = body.get(name)
    if value is None:
        if required:
            abort(400, f"$.{name} is required")
        return None
    if not isinstance(value, str):
        abort(400, f"$.{name} must be a string")
    return value


def whole(body: dict[str, Any], name: str) -> int | None:
    """``body[name]`` as an integer (never a bool); None when absent or null; 400 when
    of another type."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        abort(400, f"$.{name} must be an integer")
    return value


def strings(body: dict[str, Any], name: str, what: str = "a list of strings") -> list[str] | None:
    """``body[name]`` as a list of strings; None when absent or null; 400 saying
    ``what`` it must be when not a list, or naming the first item (``$.name[2]``)
    that is not a string."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        abort(400, f"$.{name} must be {what}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            abort(400, f"$.{name}[{i}] must be a string")
    return value


def refuse(exc: SaidError) -> NoReturn:
    """400 naming the JSON path of a member that cannot be stored (``$.`` before the
    :class:`~partners.values.InvalidField`'s reason, in English and in the request's
    language), else :func:`~web.settlement_access.abort_for`; ``exc`` is the
    answer's cause."""
    if isinstance(exc, InvalidField):
        answer = BadRequest(f"$.{exc}")
        # the same path before the reason in the request's language (web.errors reads it)
        answer.hopchain_message = ("$.%(said)s", {"said": reason_words(exc)})  # type: ignore[attr-defined]
        raise answer from exc
    abort_for(exc)
