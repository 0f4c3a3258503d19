"""The risk register and its heat map as JSON (issue 13; the rules are in
:mod:`risk.register`).

- ``GET /risks`` (filters: party, program, category, status, owner, review_due;
  paged, highest score first), ``POST /risks``;
- ``GET /risks/{id}``, ``PATCH /risks/{id}`` (any field; closing is
  ``{"status": "closed"}``);
- ``GET /risks/heat-map``: the 5 x 5 counts, by band and review due.

A bad body answers 400 naming every bad member by its JSON path at once: first the
types (``$.likelihood must be an integer``: a string "5" is not 5), then the values
the register refuses (``$.owner: dora is not an active user who may open the risk
register``): ``error`` all of them in English, ``problems`` one each
(``{"path", "error"}`` with ``message`` in the request's language when it is not
English).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, lazy_gettext

from ledger.said import SaidError
from partners.values import InvalidField
from risk import register as rr
from web.api import api_route, json_body, json_response, query_bool, query_param, query_str
from web.api.body import request_json as json_request
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine, get_session
from web.i18n import DEFAULT_LOCALE
from web.reasons import reason_words
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__: list[str] = []

_OBJECT = {"type": "object"}
_READERS = tuple(Role(r) for r in rr.READERS)
_WRITERS = tuple(Role(r) for r in rr.WRITERS)
_FIELDS = {
    "party": {"type": "string", "description": "Party code; empty or null: none."},
    "program": {"type": "string", "description": "Program code; empty or null: none."},
    "category": {"type": "string", "enum": list(rr.CATEGORIES)},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "likelihood": {"type": "integer", "minimum": 1, "maximum": 5},
    "impact": {"type": "integer", "minimum": 1, "maximum": 5},
    "owner": {"type": "string", "description": "Username of an active person."},
    "response_plan": {"type": "string"},
    "status": {"type": "string", "enum": list(rr.STATUSES)},
    "review_on": {"type": "string", "format": "date"},
}
_FILTER_PARAMS = (
    query_param("party", "string", maxLength=64, description="Party code."),
    query_param("program", "string", maxLength=64, description="Program code."),
    query_param("category", "string", enum=list(rr.CATEGORIES)),
    query_param(
        "status", "string", enum=[*rr.STATUSES, "all"], description="Default: all but closed."
    ),
    query_param("owner", "string", maxLength=64, description="Owner's username."),
    query_param("review_due", "boolean", description="Only risks whose review date passed."),
)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _filters() -> rr.RiskFilters:
    try:
        party_id = rr.party_filter(get_session(), query_str("party"))
    except SaidError as exc:
        abort_for(exc)
    return rr.RiskFilters(
        party_id=party_id, program=query_str("program"), category=query_str("category"),
        status=query_str("status"), owner=query_str("owner"),
        review_due=bool(query_bool("review_due")), on=_today(),
    )  # fmt: skip


#: The JSON type each member takes (null is "none" for every member but these).
_INTEGERS = ("likelihood", "impact")
_NOT_NULL = ("category", "title", "likelihood", "impact", "owner", "status")
_TYPE_WORDS = {
    "integer": (
        "$.%(name)s must be an integer",
        lazy_gettext("$.%(name)s must be an integer"),
    ),
    "string": ("$.%(name)s must be a string", lazy_gettext("$.%(name)s must be a string")),
}


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _problems(items: list[tuple[str, str, str]]) -> Response:
    """400 naming every bad member: ``items`` are (path, English, words in the
    request's language)."""
    language = str(get_locale() or DEFAULT_LOCALE)
    english = language == DEFAULT_LOCALE
    listed = []
    for path, error, words in items:
        item = {"path": path, "error": error}
        if not english:
            item["message"] = words
        listed.append(item)
    body: dict[str, Any] = {
        "error": "; ".join(i["error"] for i in listed), "status": 400, "problems": listed,
    }  # fmt: skip
    if not english:
        body["message"] = "; ".join(i["message"] for i in listed)
    response = jsonify(body)
    response.status_code = 400
    response.headers["Content-Language"] = language.replace("_", "-")
    return response


def _field_problems(exc: InvalidField) -> Response:
    found = getattr(exc, "problems", None) or (exc,)
    return _problems([(f"$.{p.field}", f"$.{p}", f"$.{reason_words(p)}") for p in found])


def _values(body: dict[str, Any], *, adding: bool) -> dict[str, Any]:
    """The body's members as the service reads them; 400 (:class:`_Refused`) naming
    every member of the wrong JSON type (``likelihood`` and ``impact`` integers, never
    a bool or a string; the rest strings; null only where it means none) together
    with every other member the register would refuse
    (:func:`risk.register.risk_problems`; ``adding``: the required ones missing)."""
    bad: list[tuple[str, str, str]] = []
    for name in _FIELDS:  # unknown members: the service names them with the bad values
        if name not in body:
            continue
        value = body[name]
        kind = "integer" if name in _INTEGERS else "string"
        if value is None:
            ok = name not in _NOT_NULL
        elif kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            english, words = _TYPE_WORDS[kind]
            bad.append((f"$.{name}", english % {"name": name}, str(words) % {"name": name}))
    values = {k: ("" if v is None else v) for k, v in body.items()}
    if bad:
        named = {path[2:] for path, _e, _w in bad}
        more = rr.risk_problems(get_engine(), values, adding=adding, skip=named)
        bad += [(f"$.{p.field}", f"$.{p}", f"$.{reason_words(p)}") for p in more]
        order = {f"$.{name}": i for i, name in enumerate(_FIELDS)}
        bad.sort(key=lambda item: order.get(item[0], -1))  # unknown members first
        raise _Refused(_problems(bad))
    return values


def _answer(
    view: Callable[..., ResponseReturnValue],
) -> Callable[..., ResponseReturnValue]:
    """Let a view answer a :class:`_Refused` response (or a field error, 400) from
    anywhere inside it."""

    def run(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        try:
            return view(*args, **kwargs)
        except _Refused as refused:
            return refused.response
        except InvalidField as exc:
            return _field_problems(exc)

    run.__name__ = view.__name__
    run.__doc__ = view.__doc__
    return run


@api_route(
    "/risks",
    summary="The risk register, highest score (likelihood x impact) first",
    description="Answers `{items, total}`; each risk has `score` and `band` (1-4 low, "
    "5-9 medium, 10-16 high, 20-25 critical) and `review_due`.",
    params=(*_FILTER_PARAMS, *page_params("risks", maximum=500)),
    responses={200: paged_response("A page of risks", _OBJECT), 404: "No such party"},
    roles=_READERS,
    tags=("risk",),
)
def risks_list() -> ResponseReturnValue:
    offset, limit = page_window()
    try:
        rows, total = rr.list_risks(
            get_engine(), current_actor(), _filters(), offset=offset, limit=limit
        )
    except SaidError as exc:
        abort_for(exc)
    body = jsonify(items=[rr.risk_json(v) for v in rows], total=total)
    return paged(body, total, offset, limit, len(rows))


@api_route(
    "/risks",
    methods=("POST",),
    summary="Add a risk to the register",
    description='Body `{"category": "credit", "title": "...", "likelihood": 4, "impact": 3, '
    '"owner": "ana", "party": "D-001", "response_plan": "...", "review_on": "2027-01-15"}`; '
    "without `review_on` the next review is set by band (low 365 days, medium 90, "
    "high and critical 30). A bad body answers 400 naming every bad member by its JSON "
    "path (`problems`: `path`, `error`, `message` in the request's language).",
    request_body=json_request(_FIELDS, ("category", "title", "likelihood", "impact", "owner")),
    responses={
        201: json_response("The risk", _OBJECT),
        400: "Every bad member, named by its JSON path",
    },
    roles=_WRITERS,
    tags=("risk",),
)
@_answer
def risks_add() -> ResponseReturnValue:
    body = json_body()
    try:
        view = rr.add_risk(get_engine(), current_actor(), _values(body, adding=True), on=_today())
    except InvalidField:
        raise
    except SaidError as exc:
        abort_for(exc)
    response = jsonify(rr.risk_json(view))
    response.headers["Location"] = url_for("api.risk_one", risk_id=view.id)
    return response, 201


@api_route(
    "/risks/heat-map",
    summary="The heat map: risks counted by likelihood x impact",
    description="`cells[likelihood-1][impact-1]` (5 x 5), `bands` (low, medium, high, "
    "critical), `review_due` and `total` of the risks the filters select.",
    params=_FILTER_PARAMS,
    responses={200: json_response("The counts", _OBJECT), 404: "No such party"},
    roles=_READERS,
    tags=("risk",),
)
def risks_heat_map() -> ResponseReturnValue:
    filters = _filters()
    try:
        rr.list_risks(get_engine(), current_actor(), filters, limit=0)  # the readers' rule
    except SaidError as exc:
        abort_for(exc)
    heat = rr.heat_map(get_session(), filters)
    return jsonify(
        cells=[list(row) for row in heat.cells],
        bands=heat.bands,
        review_due=heat.review_due,
        total=heat.total,
        band_ranges={name: [low, high] for name, low, high in rr.BANDS},
    )


@api_route(
    "/risks/<id:risk_id>",
    methods=("GET", "PATCH"),
    summary="One risk of the register (GET), or change it (PATCH, audited with before and after)",
    description="PATCH body: any members of a risk, e.g. "
    '`{"likelihood": 2, "status": "mitigating"}`; closing is `{"status": "closed"}`. '
    "Finance, channel managers, partner managers and admins change risks; auditors read. "
    "A bad body answers 400 naming every bad member by its JSON path (`problems`).",
    request_body={**json_request(_FIELDS), "required": False},
    responses={
        200: json_response("The risk", _OBJECT),
        403: "PATCH by a role that reads only",
        400: "Every bad member, named by its JSON path",
        404: "No such risk",
    },
    roles=_READERS,
    tags=("risk",),
)
@_answer
def risk_one(risk_id: int) -> ResponseReturnValue:
    try:
        if request.method == "PATCH":
            view = rr.update_risk(
                get_engine(),
                risk_id,
                current_actor(),
                _values(json_body(), adding=False),
                on=_today(),
            )
        else:
            view = rr.get_risk(get_engine(), risk_id, current_actor(), on=_today())
    except InvalidField:
        raise
    except SaidError as exc:
        abort_for(exc)
    return jsonify(rr.risk_json(view))
