"""Paging of the API's lists: one way for every list endpoint (issue 11).

A list endpoint declares :func:`page_params` (``limit`` and ``cursor``; the
``cursor`` is the number of items before the page), reads :func:`page_window`
and answers through :func:`paged`, which sets

- ``X-Total-Count``: how many items match the filters in all;
- ``Link`` (RFC 8288): ``<...&cursor=N>; rel="next"`` and ``rel="prev"`` where
  those pages exist, the request's other parameters kept.

Its 200 response documents both headers with :func:`paged_response`. An endpoint
that also takes ``offset`` (older clients) reads it where no ``cursor`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from flask import Response, jsonify, request, url_for

from web.api import query_int, query_str
from web.api.openapi import CURSOR_PATTERN, json_response, query_param, validated_query
from web.converters import ID_MAX

__all__ = [
    "PAGE_HEADERS",
    "page_answer",
    "page_params",
    "page_window",
    "paged",
    "paged_response",
    "window_of",
]

T = TypeVar("T")

#: The headers of a page, as the OpenAPI document describes them.
PAGE_HEADERS: dict[str, Any] = {
    "X-Total-Count": {
        "description": "How many items match the filters in all.",
        "schema": {"type": "integer"},
    },
    "Link": {
        "description": 'RFC 8288 links to the other pages: `<...&cursor=N>; rel="next"` '
        'and `rel="prev"` where they exist.',
        "schema": {"type": "string"},
    },
}


def page_params(
    noun: str, *, default: int = 50, maximum: int = 500
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``limit`` (1 … ``maximum``, ``default`` when absent) and ``cursor``
    query parameters of a list of ``noun`` ("alerts")."""
    return (
        query_param(
            "limit",
            minimum=1,
            maximum=maximum,
            default=default,
            description=f"{noun.capitalize()} per page (at most {maximum}).",
        ),
        query_param(
            "cursor",
            "string",
            pattern=CURSOR_PATTERN,
            description="Where the page starts: the `cursor` of a previous answer's `Link`.",
        ),
    )


def paged_response(description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    """A 200 response with a JSON body and the page headers (:data:`PAGE_HEADERS`)."""
    return {**json_response(description, schema), "headers": PAGE_HEADERS}


def page_window(default: int = 50) -> tuple[int, int]:
    """``(offset, limit)`` of this request: the checked ``cursor`` (else a declared
    ``offset``, else 0; at most :data:`web.converters.ID_MAX`) and ``limit``."""
    limit = query_int("limit", default) or default
    cursor = query_str("cursor")
    if cursor:
        return min(int(cursor), ID_MAX), limit
    if "offset" in validated_query():
        return query_int("offset", 0) or 0, limit
    return 0, limit


def window_of(items: Sequence[T], offset: int, limit: int) -> list[T]:
    """The page ``[offset, offset + limit)`` of a list read whole."""
    return list(items[offset : offset + limit])


def paged(response: Response, total: int, offset: int, limit: int, shown: int) -> Response:
    """``response`` (a page of ``shown`` items starting at ``offset``, ``total`` in all)
    with ``X-Total-Count`` and ``Link`` set; returns it."""
    response.headers["X-Total-Count"] = str(total)
    args: dict[str, Any] = request.args.to_dict()
    args.pop("offset", None)  # the cursor says where a linked page starts
    endpoint = request.endpoint or ""
    view_args = dict(request.view_args or {})
    links = []
    if offset + shown < total:
        args["cursor"] = str(offset + shown)
        links.append(f'<{url_for(endpoint, **view_args, **args)}>; rel="next"')
    if offset > 0:
        args["cursor"] = str(max(offset - limit, 0))
        links.append(f'<{url_for(endpoint, **view_args, **args)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


def page_answer(items: Sequence[Any], total: int, offset: int, limit: int) -> Response:
    """The answer of a list endpoint: ``{items, total, offset, limit}`` (``items``
    already JSON-ready, the page starting at ``offset``) through :func:`paged`."""
    body = jsonify(items=list(items), total=total, offset=offset, limit=limit)
    return paged(body, total, offset, limit, len(items))
