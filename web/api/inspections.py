"""Inspections as JSON: an inspector's app records scans; managers and auditors read them.

- ``POST /inspections`` (inspector): body ``{"unit", "shop", "note", "lat", "lon",
  "at", "photos": [{"content_type", "data"}], "capture_id"}``: ``unit`` a GS1
  Digital Link URI, element string or ``01/…/21/…`` key; ``lat``/``lon`` decimal
  degrees (numbers or decimal strings) or both absent; ``at`` RFC 3339 (default:
  the server's clock); ``data`` base64. 201 ``{inspection, seq, verdict,
  territory, confirmed, cleared, alerts, replayed, clone, end_of_life, message}``
  (``end_of_life``: the unit's sale or decommissioning before the inspection, and
  ``message`` says in the request's language that a unit on a shelf with its code
  is then likely a copy and detection files a cloned-code alert; ``clone``: the
  entry is such a finding, its clone suspect in ``confirmed``); a replay (same
  ``capture_id``) answers 200 with the original. A bad member answers 400 naming
  its JSON path (``$.photos[2].data: ...``), the reason also in the request's
  language; an unknown code 400 ``$.unit``, a malformed one with the scanner's
  reason (the resolver's words: "GTIN … has check digit 4, expected 3"). The rules are
  :func:`sightings.inspection.record_inspection`'s.
- ``GET /inspections`` (inspector: their own; channel manager, admin, auditor: all),
  ``limit`` and ``cursor``, optional ``unit`` (key); ``GET /inspections/{id}``
  with its photos (``url`` to fetch each) and the suspected alerts it settled.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import time
from typing import Any, NoReturn

from flask import abort, jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext
from werkzeug.exceptions import BadRequest

from ledger.times import format_rfc3339
from scanners.batch import parse_rfc3339_ms, to_micro_degrees
from sightings import inspection
from sightings.errors import SightingError
from sightings.inspection import InspectionView, Photo
from sightings.suspects import EndOfLife
from web.api import api_route, json_body, query_str
from web.api.openapi import json_response, query_param
from web.api.paging import page_params, page_window, paged, paged_response
from web.db import get_engine, get_session
from web.field.inspect import (
    READERS,
    code_words,
    end_of_life_words,
    inspection_words,
    may_read,
    read_unit_code,
)
from web.roles import Role
from web.security import current_principal
from web.signing import get_signer

__all__ = ["inspection_json"]

_OBJECT = {"type": "object"}
_TAGS = ("inspections",)
_MEMBERS = ("unit", "shop", "note", "lat", "lon", "at", "photos", "capture_id")
# base64 of the largest photo, with room for line breaks some encoders add
_MAX_B64 = (inspection.MAX_PHOTO_BYTES + 2) // 3 * 4 + 4096

_PHOTO_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "content_type": {"type": "string", "description": "image/png, image/jpeg, image/webp"},
        "data": {"type": "string", "description": "The photo's bytes, base64"},
    },
}
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["unit", "shop"],
                "properties": {
                    "unit": {
                        "type": "string",
                        "description": "Digital Link URI, element string or key",
                    },
                    "shop": {"type": "string", "maxLength": inspection.MAX_SHOP},
                    "note": {"type": "string", "maxLength": inspection.MAX_NOTE},
                    "lat": {"type": ["number", "string"], "description": "Decimal degrees"},
                    "lon": {"type": ["number", "string"], "description": "Decimal degrees"},
                    "at": {"type": "string", "description": "RFC 3339; default: now"},
                    "photos": {
                        "type": "array",
                        "maxItems": inspection.MAX_PHOTOS,
                        "items": _PHOTO_SCHEMA,
                    },
                    "capture_id": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9._:-]{1,100}$",
                        "description": "The client's id of this inspection: a replay appends nothing",
                    },
                },
            }
        }
    },
}

_FIELD_PATHS = {"photos": "photos", "capture_id": "capture_id", "party": "token"}


def _refuse(path: str, english: str, localized: str | None = None) -> NoReturn:
    """400 ``$.path: why``, the reason also in the request's language."""
    answer = BadRequest(f"$.{path}: {english}")
    answer.hopchain_message = (  # type: ignore[attr-defined]
        "%(problems)s",
        {"problems": f"$.{path}: {localized if localized is not None else english}"},
    )
    raise answer


def _path_of(field: str) -> str:
    if field.startswith("photos["):
        return f"{field}.data"
    return _FIELD_PATHS.get(field, field)


def _text(body: dict[str, Any], name: str, default: str | None = "") -> str | None:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        _refuse(name, "must be a string", gettext("must be a string"))
    return value


def _degrees(body: dict[str, Any]) -> tuple[int | None, int | None]:
    out: list[int | None] = []
    for name, limit in (("lat", 90), ("lon", 180)):
        value = body.get(name)
        if value is None:
            out.append(None)
            continue
        try:
            out.append(to_micro_degrees(value, limit))
        except ValueError as exc:
            _refuse(name, str(exc))
    return out[0], out[1]


def _photos(body: dict[str, Any]) -> list[Photo]:
    raw = body.get("photos", [])
    if raw is None:
        return []
    if not isinstance(raw, list):
        _refuse("photos", "must be a list of {content_type, data}")
    if len(raw) > inspection.MAX_PHOTOS:
        words = inspection.TOO_MANY_PHOTOS
        values = {"limit": inspection.MAX_PHOTOS, "count": len(raw)}
        _refuse("photos", words % values, gettext(words, **values))
    photos = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            _refuse(f"photos[{i}]", "must be an object with content_type and data")
        kind, data = item.get("content_type", ""), item.get("data")
        if not isinstance(kind, str):
            _refuse(f"photos[{i}].content_type", "must be a string")
        if not isinstance(data, str):
            _refuse(f"photos[{i}].data", "must be the photo's bytes as base64 text")
        if len(data) > _MAX_B64:
            limit_mb = f"{inspection.MAX_PHOTO_BYTES / 1048576:.1f}"
            _refuse(
                f"photos[{i}].data",
                f"the photo is larger than {limit_mb} MB",
                gettext("the photo is larger than %(limit)s MB", limit=limit_mb),
            )
        try:
            decoded = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            _refuse(
                f"photos[{i}].data",
                "is not base64 (RFC 4648, standard alphabet)",
                gettext("is not base64 (RFC 4648, standard alphabet)"),
            )
        photos.append(Photo(kind, decoded))
    return photos


def _at(body: dict[str, Any]) -> int:
    value = body.get("at")
    if value is None:
        return time.time_ns() // 1_000_000
    if not isinstance(value, str):
        _refuse("at", "must be an RFC 3339 date-time string")
    try:
        return parse_rfc3339_ms(value)
    except ValueError as exc:
        _refuse("at", str(exc))


def _settled_json(view: InspectionView) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in view.settled]


def _end_of_life_json(ended: EndOfLife | None) -> dict[str, Any] | None:
    """The unit's sale or decommissioning before the inspection (``kind``
    ``retail_selling`` | ``decommissioning``, its ledger ``seq``, ``at`` RFC 3339
    UTC), None while it was in the channel."""
    if ended is None:
        return None
    return {"kind": ended.kind, "seq": ended.seq, "at": format_rfc3339(ended.at_ms)}


def inspection_json(view: InspectionView) -> dict[str, Any]:
    """An inspection as the API shows it (``at_ms`` ms since the epoch, ``lat_e6``/
    ``lon_e6`` micro-degrees; photos with the URL of their bytes; ``end_of_life``
    and ``message`` when the unit had been sold or decommissioned before: a unit on a
    shelf with its code is then likely a copy, see :mod:`sightings.suspects`)."""
    return {
        "id": view.id,
        "seq": view.seq,
        "unit": view.unit_key,
        "party": view.party_code,
        "user": view.user_name,
        "shop": view.shop_name,
        "note": view.note,
        "at_ms": view.at_ms,
        "lat_e6": view.lat_e6,
        "lon_e6": view.lon_e6,
        "territory": view.territory_code,
        "verdict": view.verdict,
        "record_hash": view.record_hash,
        "signature": view.signature,
        "photo_count": view.photo_count,
        "photos": [
            {**dataclasses.asdict(p), "url": url_for("inspect.photo", photo_id=p.id)}
            for p in view.photos
        ],
        "settled": _settled_json(view),
        "end_of_life": _end_of_life_json(view.end_of_life),
        "message": end_of_life_words(view.end_of_life),
    }


@api_route(
    "/inspections",
    methods=("POST",),
    summary="Record an inspector's scan of a unit in a shop (one signed inspecting entry)",
    description="Body: `unit` (Digital Link URI, GS1 element string or `01/.../21/...`), "
    "`shop`, `note`, `lat`/`lon` (decimal degrees, both or neither), `at` (RFC 3339, "
    "default now), `photos` (at most 6 of `{content_type, data: base64}`, PNG/JPEG/WebP, "
    "5 MB each; the request at most 16 MB), `capture_id` (a replay of the same id "
    "answers 200 with the original and appends nothing). A bad member answers 400 "
    "naming its JSON path (`$.photos[2].data: ...`).",
    request_body=_BODY,
    responses={
        201: json_response("The inspection recorded and what it settled", _OBJECT),
        200: json_response("A replay: the inspection recorded before", _OBJECT),
    },
    roles=(Role.INSPECTOR,),
    tags=_TAGS,
)
def create() -> ResponseReturnValue:
    body = json_body()
    for member in body:
        if member not in _MEMBERS:
            _refuse(member, f"is not a member of this body; it takes {', '.join(_MEMBERS)}")
    unit = _text(body, "unit", None)
    if not unit:
        words = "Code: scan the label with the camera, type its code or take a photo of it"
        _refuse("unit", "is required: the code the label carries", gettext(words))
    reading = read_unit_code(unit)
    key = reading.key
    if key is None:
        with force_locale("en"):
            english = code_words(reading)
        _refuse("unit", english, code_words(reading))
    shop, note = _text(body, "shop") or "", _text(body, "note") or ""
    capture = _text(body, "capture_id", None)
    lat, lon = _degrees(body)
    at_ms = _at(body)
    photos = _photos(body)
    me = current_principal()
    assert me is not None  # api_route's role check
    try:
        result = inspection.record_inspection(
            get_engine(), user_name=me.name, inspector_party_id=me.party_id or 0,
            unit_key=key, shop_name=shop, note=note, lat_e6=lat, lon_e6=lon, at_ms=at_ms,
            photos=photos, signer=get_signer(), capture_id=capture,
        )  # fmt: skip
    except SightingError as exc:
        _refuse(_path_of(exc.field), str(exc), inspection_words(exc))
    answer = {
        "inspection": result.inspection_id,
        "seq": result.seq,
        "verdict": result.verdict,
        "territory": result.territory_code,
        "confirmed": list(result.resolution.confirmed),
        "cleared": list(result.resolution.cleared),
        "alerts": list(result.resolution.alert_ids),
        "replayed": result.replayed,
        "clone": result.resolution.clone,
        "end_of_life": _end_of_life_json(result.resolution.end_of_life),
        "message": end_of_life_words(result.resolution.end_of_life),
        "url": url_for("api.inspection_one", inspection_id=result.inspection_id),
    }
    return jsonify(answer), (200 if result.replayed else 201)


@api_route(
    "/inspections",
    summary="Inspections, newest first",
    description="An inspector sees their own; channel managers, admins and auditors all. "
    "Filter by `unit` (its key `01/{gtin14}/21/{serial}`); page with `limit` and the "
    "`cursor` of the `Link` header. Answers `{items, total, offset, limit}`.",
    params=(
        query_param("unit", "string", maxLength=64),
        *page_params("inspections", maximum=200),
    ),
    responses={200: paged_response("A page of inspections", _OBJECT)},
    roles=READERS,
    tags=_TAGS,
)
def inspections() -> ResponseReturnValue:
    me = current_principal()
    assert me is not None
    offset, limit = page_window()
    items, total = inspection.list_inspections(
        get_session(),
        user_name=me.name if me.role is Role.INSPECTOR else None,
        unit_key=query_str("unit") or None,
        offset=offset,
        limit=limit,
    )
    body = jsonify(
        items=[inspection_json(i) for i in items], total=total, offset=offset, limit=limit
    )
    return paged(body, total, offset, limit, len(items))


@api_route(
    "/inspections/<id:inspection_id>",
    summary="One inspection with its photos and the suspected alerts it settled",
    description="An inspector may read only their own (another's answers 404).",
    responses={200: json_response("The inspection", _OBJECT), 404: "No such inspection"},
    roles=READERS,
    tags=_TAGS,
)
def inspection_one(inspection_id: int) -> ResponseReturnValue:
    view = inspection.get_inspection(get_session(), inspection_id)
    me = current_principal()
    if view is None or me is None or not may_read(me, view):
        abort(404)
    return jsonify(inspection_json(view))
