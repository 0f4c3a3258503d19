"""URL converters for ids: a path id outside what the database can hold is 404.

Every table's id is an ``Integer`` column, which on PostgreSQL holds
1 … 2,147,483,647; a larger number in a path reached the database and answered
500 ("integer out of range"). The converters reject it while routing, before
any view runs, so it answers 404 like any other id that names nothing:

- ``<id:run_id>``: an id, 1 … :data:`ID_MAX` (``Integer``, 32-bit signed);
- ``<seq:seq>``: a ledger seq, 0 … :data:`SEQ_MAX` (``BigInteger``, 64-bit signed).

Only decimal digits match (no sign, at most as many digits as the maximum has),
so ``-1``, ``1e9`` and a 40-digit number are not routed at all. The OpenAPI
document states the same ranges (:data:`ID_SCHEMA`, :data:`SEQ_SCHEMA`).

The same edge refuses a NUL character (``%00``) in any query parameter or form
field, pages and API alike (400 naming it): PostgreSQL text cannot hold one, so
it used to reach a query and answer 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

from web.errors import BadParameter

__all__ = [
    "CONVERTERS",
    "ID_MAX",
    "ID_SCHEMA",
    "SEQ_MAX",
    "SEQ_SCHEMA",
    "IdConverter",
    "SeqConverter",
    "init_app",
    "parse_id",
]

ID_MAX = 2**31 - 1  # PostgreSQL INTEGER
SEQ_MAX = 2**63 - 1  # PostgreSQL BIGINT (and SQLite INTEGER)

ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
SEQ_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": SEQ_MAX}


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id, 1 … 2**31-1; anything else does not match (404)."""

    regex = r"[0-9]{1,10}"  # ASCII digits only (\\d would match "٣")

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=ID_MAX)


class SeqConverter(IntegerConverter):
    """``<seq:name>``: a ledger seq, 0 … 2**63-1; anything else does not match (404)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=0, max=SEQ_MAX)


# Converter name -> (class, OpenAPI schema of the path parameter).
CONVERTERS: dict[str, tuple[type[IntegerConverter], dict[str, Any]]] = {
    "id": (IdConverter, ID_SCHEMA),
    "seq": (SeqConverter, SEQ_SCHEMA),
}


def parse_id(text: str | None) -> int | None:
    """``text`` as a row id (decimal digits, 1 … :data:`ID_MAX`), else None.

    For ids that arrive in a page's query string or form field, where "no such
    id" is the answer to anything else (never an int the database refuses).
    """
    raw = (text or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _refuse_nul() -> None:
    """400 naming the first path segment, query parameter or form field that holds a NUL character
    (or a multipart part without a readable name, which Flask-WTF cannot handle)."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and "\x00" in value:
            raise BadParameter(
                name,
                f"path segment {name!r} holds a NUL character (%00), which text may not contain",
            )
    sources = [("query parameter", request.args)]
    if request.mimetype in _FORM_TYPES:  # never parse (and so consume) a JSON or raw body
        sources.append(("form field", request.form))
    for where, values in sources:
        for name, value in values.items(multi=True):
            if name is None:  # a multipart part whose name werkzeug could not read
                raise BadRequest("a part of the multipart body has no readable name")
            if "\x00" in value or "\x00" in name:
                raise BadParameter(
                    name,
                    f"{where} {name!r} holds a NUL character (%00), which text may not contain",
                )


def init_app(app: Flask) -> None:
    """Register ``id`` and ``seq`` on ``app`` (before any blueprint adds its rules) and
    the NUL check that runs before every view."""
    for name, (converter, _schema) in CONVERTERS.items():
        app.url_map.converters[name] = converter
    app.before_request(_refuse_nul)
