"""Parties over the API: the pickers' look-up and parties as master data.

- ``GET /api/v1/parties?q=PREFIX[&kind=KIND[,KIND...]]``: the pages' party fields
  search as you type through it (``web/static/party_picker.js``); programs may use
  it too. Channel managers, partner managers, finance, auditors and admins find
  every party; a distributor finds only itself (:mod:`settlement.party_search`).
- Master data (:mod:`partners.parties`): ``GET /api/v1/partners`` (the paged list
  with filters and counts per status: ``/parties`` is the picker's),
  ``POST /api/v1/parties`` (201 and ``Location``), ``GET`` / ``PATCH
  /api/v1/parties/{code}``, ``POST /api/v1/parties/{code}/status``, the
  ``addresses`` and ``contacts`` sub-resources, ``POST /api/v1/parties/import``
  (a CSV or XLSX file, all or nothing). Partner managers and admins write;
  finance, channel managers and auditors read; a distributor reads only its own
  party (another party's code answers 404, as a code that does not exist). A
  bad member answers 400 naming its JSON path (``$.country: 'XX' is not an ISO
  3166 country code ...``), every bad member of the body at once in ``problems``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

import settlement
from partners import parties as pp
from partners.errors import PartnerDenied, PartnerError
from partners.values import InvalidField
from web.api import (
    api_route,
    json_body,
    json_response,
    query_bool,
    query_int,
    query_param,
    query_str,
)
from web.api import body as members
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine
from web.i18n import DEFAULT_LOCALE
from web.reasons import reason_words
from web.roles import Role
from web.settlement_access import abort_for, current_actor

__all__ = [
    "PARTY_KINDS",
    "PARTY_READERS",
    "PARTY_WRITERS",
    "PICKER_ROLES",
    "kinds_of",
    "party_json",
]

T = TypeVar("T")

PICKER_ROLES = (
    Role.ADMIN,
    Role.CHANNEL_MANAGER,
    Role.PARTNER_MANAGER,
    Role.FINANCE,
    Role.AUDITOR,
    Role.DISTRIBUTOR,
)
#: The kinds of party (:class:`ledger.models.Party` ``kind``) a picker may ask for.
PARTY_KINDS = ("distributor", "dealer", "retailer", "manufacturer", "inspector")
_KIND_LIST = "(?:{0})(?:,(?:{0}))*".format("|".join(PARTY_KINDS))
_CHOICES = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                },
            },
        }
    },
}


@api_route(
    "/parties",
    summary="Parties whose code or name starts with q (a picker's suggestions)",
    description="Case-insensitive prefix of the code or the name, distributors only unless "
    "`kind` says otherwise (one kind or several, comma-separated: `kind=dealer,retailer`), "
    "by code. A distributor finds only its own party.",
    params=(
        query_param("q", "string", maxLength=64, description="Start of a code or a name."),
        query_param(
            "kind",
            "string",
            pattern=_KIND_LIST,
            maxLength=120,
            default="distributor",
            description="The kinds of party, comma-separated, each one of "
            + ", ".join(PARTY_KINDS)
            + " (default distributor).",
        ),
        query_param("limit", minimum=1, maximum=50, default=20, description="At most this many."),
    ),
    responses={200: json_response("Matching parties", _CHOICES)},
    roles=PICKER_ROLES,
    tags=("parties",),
)
def parties() -> ResponseReturnValue:
    limit = query_int("limit", 20) or 20
    found: list[settlement.PartyChoice] = []
    try:
        for kind in kinds_of(query_str("kind", "distributor") or "distributor"):
            found += settlement.search_parties(
                get_engine(), current_actor(), query_str("q", "") or "", kind=kind, limit=limit
            )
    except settlement.SettlementError as exc:
        abort_for(exc)
    found.sort(key=lambda p: p.code)
    return jsonify({"items": [dataclasses.asdict(p) for p in found[:limit]]})


def kinds_of(value: str) -> list[str]:
    """The distinct kinds named in ``value`` (``"dealer,retailer"``), in their order.

    ``value`` has passed the parameter's pattern (each name one of :data:`PARTY_KINDS`);
    each kind is searched on its own, the matches merged by code and cut to ``limit``.
    """
    return list(dict.fromkeys(k for k in value.split(",") if k))


# ------------------------------------------------------------------ master data

#: Who writes parties (:data:`partners.parties.WRITERS`) and who reads them (its
#: readers, and a distributor its own party).
PARTY_WRITERS = tuple(Role(r) for r in pp.WRITERS)
PARTY_READERS = (*(Role(r) for r in pp.READERS), Role.DISTRIBUTOR)
_TAGS = ("parties",)
_OBJECT: dict[str, Any] = {"type": "object"}
_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_PARTY_MEMBERS: dict[str, Any] = {
    "code": {**_TEXT, "description": "1-64 letters, digits, '.', '_', '-'; never changes"},
    "name": {**_TEXT, "description": "Legal name"},
    "local_name": {**_TEXT, "description": "The name in the partner's own script"},
    "kind": {"type": "string", "enum": list(pp.KINDS)},
    "country": {**_TEXT, "description": "ISO 3166-1 alpha-2"},
    "currency": {**_TEXT, "description": "ISO 4217"},
    "time_zone": {**_NULLABLE_TEXT, "description": "IANA time zone"},
    "parent": {**_NULLABLE_TEXT, "description": "The parent party's code"},
    "locale": {**_NULLABLE_TEXT, "description": "Documents' language: en, zh_Hans_CN, es"},
    "status": {"type": "string", "enum": list(pp.INITIAL_STATUSES)},
}
_ADDRESS_MEMBERS: dict[str, Any] = {
    "kind": {"type": "string", "enum": list(pp.ADDRESS_KINDS)},
    "line1": _TEXT,
    "line2": _TEXT,
    "city": _TEXT,
    "region": _TEXT,
    "postal_code": _TEXT,
    "country": {**_TEXT, "description": "ISO 3166-1 alpha-2"},
    "lat": {"type": ["number", "string", "null"], "description": "Decimal degrees"},
    "lon": {"type": ["number", "string", "null"], "description": "Decimal degrees"},
}
_CONTACT_MEMBERS: dict[str, Any] = {
    "name": _TEXT,
    "role": _TEXT,
    "email": _TEXT,
    "phone": {**_TEXT, "description": "International form, e.g. +86 21 5555 0101"},
    "language": {**_TEXT, "description": "en, zh_Hans_CN, es or empty"},
    "primary": {"type": "boolean"},
}
_FIELD_PROBLEMS = json_response(
    "Members that cannot be stored, each named by its JSON path; nothing was stored",
    {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "problems": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    },
)


def party_json(view: pp.PartyView) -> dict[str, Any]:
    """A party's master data as the API answers it."""
    return dataclasses.asdict(view)


def _field_problems(problems: Sequence[InvalidField]) -> Response:
    """400 naming every bad member by its JSON path (``$.country``): ``error`` all of
    them in English, ``problems`` one each (with ``message`` in the request's
    language when it is not English)."""
    language = str(get_locale() or DEFAULT_LOCALE)
    english = language == DEFAULT_LOCALE
    listed = []
    for exc in problems:
        item = {"path": f"$.{exc.field}", "error": f"$.{exc}"}
        if not english:
            item["message"] = f"$.{reason_words(exc)}"
        listed.append(item)
    body = {"error": "; ".join(i["error"] for i in listed), "status": 400, "problems": listed}
    response = jsonify(body)
    response.status_code = 400
    response.headers["Content-Language"] = language.replace("_", "-")
    return response


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _call(work: Callable[[], T], *, hide: bool = False) -> T:
    """Run a service call: a field error answers 400 naming its path, a refusal to a
    distributor of another party (``hide``) 404, anything else :func:`abort_for`."""
    try:
        return work()
    except InvalidField as exc:
        raise _Refused(_field_problems([exc])) from exc
    except PartnerDenied as exc:
        abort_for(exc, not_found=hide and current_actor().role == Role.DISTRIBUTOR)
    except PartnerError as exc:
        abort_for(exc)


def _answer(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Let a view answer a :class:`_Refused` response from anywhere inside it."""

    def run(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        try:
            return view(*args, **kwargs)
        except _Refused as refused:
            return refused.response

    run.__name__ = view.__name__
    run.__doc__ = view.__doc__
    return run


def _texts(
    body: dict[str, Any], names: Sequence[str], *, nullable: Sequence[str] = ()
) -> dict[str, str | None]:
    """The string members ``names`` present in ``body`` (null where ``nullable``);
    400 naming the first member of another type."""
    out: dict[str, str | None] = {}
    for name in names:
        if name not in body:
            continue
        value = body[name]
        if value is None and name in nullable:
            out[name] = None
        elif isinstance(value, str):
            out[name] = value
        else:
            abort(400, f"$.{name} must be a string" + (" or null" if name in nullable else ""))
    return out


def _required(body: dict[str, Any], names: Sequence[str]) -> None:
    missing = [f"$.{n}" for n in names if n not in body]
    if missing:
        abort(400, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")


def _detail_json(detail: pp.PartyDetail, history: Sequence[Any] = ()) -> dict[str, Any]:
    return {
        **party_json(detail.party),
        "parent_party": None if detail.parent is None else party_json(detail.parent),
        "children": detail.children,
        "addresses": [dataclasses.asdict(a) for a in detail.addresses],
        "contacts": [dataclasses.asdict(c) for c in detail.contacts],
        "history": [dataclasses.asdict(e) for e in history],
    }


def _detail(code: str) -> Response:
    actor = current_actor()
    detail = _call(lambda: pp.get_party(get_engine(), code, actor), hide=True)
    events = _call(lambda: pp.party_history(get_engine(), code, actor, limit=50), hide=True)
    return jsonify(_detail_json(detail, events))


@api_route(
    "/partners",
    summary="Parties as master data, by code, with the count in each status",
    description="Filter by `q` (part of the code, name or local name), `kind`, `status`, "
    "`country` (ISO 3166 alpha-2) and `parent` (a code); page with `limit` and the `cursor` "
    "of the `Link` header. Answers `{items, total, by_status, offset, limit}`; `by_status` "
    "counts the parties matching the other filters in each status. A distributor lists "
    "only its own party. (`GET /parties` is the pickers' look-up.)",
    params=(
        query_param("q", "string", maxLength=100, description="Part of a code or name."),
        query_param("kind", "string", enum=[*pp.KINDS, "manufacturer"]),
        query_param("status", "string", enum=list(pp.STATUSES)),
        query_param("country", "string", pattern="^[A-Za-z]{2}$"),
        query_param("parent", "string", maxLength=64, description="The parent's code."),
        *page_params("parties", maximum=500),
    ),
    responses={200: paged_response("A page of parties", _OBJECT)},
    roles=PARTY_READERS,
    tags=_TAGS,
)
def partner_list() -> ResponseReturnValue:
    offset, limit = page_window()
    page = _call(
        lambda: pp.page_parties(
            get_engine(),
            current_actor(),
            q=query_str("q") or "",
            kind=query_str("kind") or "",
            status=query_str("status") or "",
            country=query_str("country") or "",
            parent=query_str("parent") or "",
            limit=limit,
            offset=offset,
        )
    )
    body = jsonify(
        items=[party_json(v) for v in page.rows],
        total=page.total,
        by_status=dict(page.by_status),
        offset=offset,
        limit=limit,
    )
    return paged(body, page.total, offset, limit, len(page.rows))


@api_route(
    "/parties",
    methods=("POST",),
    summary="Create a party",
    description='Body `{"code": "CN-EAST-01", "name": "Huadong Instruments Co. Ltd.", '
    '"local_name": "华东仪器有限公司", "kind": "distributor", "country": "CN", '
    '"currency": "CNY", "parent": "CN-NA", "time_zone": "Asia/Shanghai", "locale": '
    '"zh_Hans_CN", "status": "active"}`. Answers 201 with the party and its `Location`; '
    "400 names every bad member by its JSON path.",
    request_body=members.request_json(
        _PARTY_MEMBERS, ("code", "name", "kind", "country", "currency")
    ),
    responses={201: json_response("The new party", _OBJECT), 400: _FIELD_PROBLEMS},
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_create() -> ResponseReturnValue:
    body = json_body()
    members.known(body, tuple(_PARTY_MEMBERS))
    _required(body, ("code", "name", "kind", "country", "currency"))
    text = _texts(body, tuple(_PARTY_MEMBERS), nullable=("time_zone", "parent", "locale"))
    data = pp.PartyInput(
        code=text.get("code") or "",
        name=text.get("name") or "",
        kind=text.get("kind") or "",
        country=text.get("country") or "",
        currency=text.get("currency") or "",
        local_name=text.get("local_name") or "",
        time_zone=text.get("time_zone") or "",
        parent=text.get("parent") or "",
        locale=text.get("locale") or "",
        status=text.get("status") or "active",
    )
    _, problems = pp.check_party_input(data)
    if problems:
        return _field_problems(problems)
    view = _call(lambda: pp.create_party(get_engine(), data, current_actor()))
    response = _detail(view.code)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/parties/{view.code}"
    return response


@api_route(
    "/parties/<code>",
    summary="One party: master data, parent, children, addresses, contacts, history",
    responses={200: json_response("The party", _OBJECT), 404: "No such party"},
    roles=PARTY_READERS,
    tags=_TAGS,
)
def party_detail(code: str) -> ResponseReturnValue:
    return _detail(code)


@api_route(
    "/parties/<code>",
    methods=("PATCH",),
    summary="Change a party's master data",
    description="Any of `name`, `local_name`, `kind`, `country`, `currency`, `time_zone`, "
    '`parent`, `locale` (null or "" clears an optional one). The code never changes; the '
    "status changes through `POST /parties/{code}/status`. A change of nothing records "
    "nothing.",
    request_body=members.request_json(
        {k: v for k, v in _PARTY_MEMBERS.items() if k in pp.EDITABLE}
    ),
    responses={
        200: json_response("The party", _OBJECT),
        400: _FIELD_PROBLEMS,
        404: "No such party",
        409: "The manufacturer is not edited here",
    },
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_update(code: str) -> ResponseReturnValue:
    body = json_body()
    fixed: dict[str, object] = {k: body[k] for k in ("code", "status") if k in body}
    if fixed:  # the service says why they do not change here, naming the member
        _call(lambda: pp.update_party(get_engine(), code, fixed, current_actor()))
    members.known(body, pp.EDITABLE)
    changes = _texts(body, pp.EDITABLE, nullable=("time_zone", "parent", "locale", "local_name"))
    _call(lambda: pp.update_party(get_engine(), code, changes, current_actor()))
    return _detail(code)


@api_route(
    "/parties/<code>/status",
    methods=("POST",),
    summary="Change a party's status, with the reason",
    description='Body `{"status": "suspended", "reason": "..."}`. Allowed: prospect -> '
    "trial -> active <-> suspended; trial, active or suspended -> exiting -> terminated; "
    "trial -> terminated. 409 for any other change (terminated is final).",
    request_body=members.request_json(
        {"status": {"type": "string", "enum": list(pp.STATUSES)}, "reason": _TEXT},
        ("status", "reason"),
    ),
    responses={
        200: json_response("The party", _OBJECT),
        400: _FIELD_PROBLEMS,
        404: "No such party",
        409: "The rules do not allow that change",
    },
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_status(code: str) -> ResponseReturnValue:
    body = json_body()
    members.known(body, ("status", "reason"))
    _required(body, ("status", "reason"))
    text = _texts(body, ("status", "reason"))
    _call(
        lambda: pp.set_status(
            get_engine(), code, text["status"] or "", current_actor(), text["reason"] or ""
        )
    )
    return _detail(code)


def _coordinate(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        abort(400, f"$.{name} must be a number of decimal degrees")
    return value if isinstance(value, str) else repr(value)


def _address_input(body: dict[str, Any]) -> pp.AddressInput:
    members.known(body, tuple(_ADDRESS_MEMBERS))
    _required(body, ("kind", "line1", "city", "country"))
    text = _texts(body, ("kind", "line1", "line2", "city", "region", "postal_code", "country"))
    return pp.AddressInput(
        kind=text.get("kind") or "",
        line1=text.get("line1") or "",
        city=text.get("city") or "",
        country=text.get("country") or "",
        line2=text.get("line2") or "",
        region=text.get("region") or "",
        postal_code=text.get("postal_code") or "",
        lat=_coordinate(body, "lat"),
        lon=_coordinate(body, "lon"),
    )


def _contact_input(body: dict[str, Any]) -> pp.ContactInput:
    members.known(body, tuple(_CONTACT_MEMBERS))
    _required(body, ("name",))
    text = _texts(body, ("name", "role", "email", "phone", "language"))
    primary = body.get("primary", False)
    if not isinstance(primary, bool):
        abort(400, "$.primary must be true or false")
    data = pp.ContactInput(
        name=text.get("name") or "",
        role=text.get("role") or "",
        email=text.get("email") or "",
        phone=text.get("phone") or "",
        language=text.get("language") or "",
        primary=primary,
    )
    problems = pp.check_contact_input(data)
    if problems:
        raise _Refused(_field_problems(problems))
    return data


_SUB_RESPONSES: dict[int | str, str | dict[str, Any]] = {
    400: _FIELD_PROBLEMS,
    404: "No such party, or no such address or contact of it",
}


@api_route(
    "/parties/<code>/addresses",
    methods=("POST",),
    summary="Add an address (with coordinates when known)",
    description='Body `{"kind": "warehouse", "line1": "88 Century Ave", "city": "Shanghai", '
    '"country": "CN", "lat": 31.2304, "lon": 121.4737}`; coordinates in decimal degrees '
    "(at most 6 decimals), both or neither. Answers 201 with the address.",
    request_body=members.request_json(_ADDRESS_MEMBERS, ("kind", "line1", "city", "country")),
    responses={201: json_response("The address", _OBJECT), **_SUB_RESPONSES},
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_address_add(code: str) -> ResponseReturnValue:
    data = _address_input(json_body())
    view = _call(lambda: pp.add_address(get_engine(), code, data, current_actor()))
    response = jsonify(dataclasses.asdict(view))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/parties/{code}/addresses/{view.id}"
    return response


@api_route(
    "/parties/<code>/addresses/<id:address_id>",
    methods=("PUT", "DELETE"),
    summary="Replace an address (PUT, with the body of POST) or remove it (DELETE, no body)",
    request_body={
        **members.request_json(_ADDRESS_MEMBERS, ("kind", "line1", "city", "country")),
        "required": False,
    },
    responses={
        200: json_response("The address (PUT)", _OBJECT),
        204: "Removed (DELETE)",
        **_SUB_RESPONSES,
    },
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_address_one(code: str, address_id: int) -> ResponseReturnValue:
    # one rule for both methods: an id out of range is then 404 for either
    if request.method == "DELETE":
        _call(lambda: pp.remove_address(get_engine(), code, address_id, current_actor()))
        return Response(status=204)
    data = _address_input(json_body())
    view = _call(lambda: pp.update_address(get_engine(), code, address_id, data, current_actor()))
    return jsonify(dataclasses.asdict(view))


@api_route(
    "/parties/<code>/contacts",
    methods=("POST",),
    summary="Add a contact person",
    description='Body `{"name": "Li Wei", "role": "owner", "email": "li.wei@example.cn", '
    '"phone": "+86 21 5555 0101", "language": "zh_Hans_CN", "primary": true}`; a primary '
    "contact makes the others not primary. Answers 201 with the contact.",
    request_body=members.request_json(_CONTACT_MEMBERS, ("name",)),
    responses={201: json_response("The contact", _OBJECT), **_SUB_RESPONSES},
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_contact_add(code: str) -> ResponseReturnValue:
    data = _contact_input(json_body())
    view = _call(lambda: pp.add_contact(get_engine(), code, data, current_actor()))
    response = jsonify(dataclasses.asdict(view))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/parties/{code}/contacts/{view.id}"
    return response


@api_route(
    "/parties/<code>/contacts/<id:contact_id>",
    methods=("PUT", "DELETE"),
    summary="Replace a contact person (PUT, with the body of POST) or remove it (DELETE, no body)",
    request_body={
        **members.request_json(_CONTACT_MEMBERS, ("name",)),
        "required": False,
    },
    responses={
        200: json_response("The contact (PUT)", _OBJECT),
        204: "Removed (DELETE)",
        **_SUB_RESPONSES,
    },
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
@_answer
def party_contact_one(code: str, contact_id: int) -> ResponseReturnValue:
    # one rule for both methods: an id out of range is then 404 for either
    if request.method == "DELETE":
        _call(lambda: pp.remove_contact(get_engine(), code, contact_id, current_actor()))
        return Response(status=204)
    data = _contact_input(json_body())
    view = _call(lambda: pp.update_contact(get_engine(), code, contact_id, data, current_actor()))
    return jsonify(dataclasses.asdict(view))


#: The largest file ``POST /parties/import`` takes.
MAX_IMPORT_BYTES = 10 * 1024 * 1024


@api_route(
    "/parties/import",
    methods=("POST",),
    summary="Import a file of new parties (CSV or XLSX), all or nothing",
    description="The file is the raw body (`?filename=` names it); layout in "
    "docs/imports.md (`parties`). 422 lists every problem by row and column; "
    "`?dry_run=true` checks and counts and stores nothing.",
    params=(
        query_param("dry_run", "boolean", default=False),
        query_param("filename", "string", maxLength=255),
    ),
    request_body={
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    responses={
        200: json_response("What was created", _OBJECT),
        413: "File too large",
        422: "The file was refused: every problem by row and column; nothing was stored",
    },
    roles=PARTY_WRITERS,
    tags=_TAGS,
)
def party_import() -> ResponseReturnValue:
    from web.api.reference import _import  # the reference imports' answer, 422 listing problems

    if (request.content_length or 0) > MAX_IMPORT_BYTES:
        abort(413, f"the file is larger than {MAX_IMPORT_BYTES >> 20} MiB")
    data = request.get_data()
    if len(data) > MAX_IMPORT_BYTES:
        abort(413, f"the file is larger than {MAX_IMPORT_BYTES >> 20} MiB")
    filename = query_str("filename") or "parties-upload"
    return _import("parties", filename, data, dry_run=bool(query_bool("dry_run")))
