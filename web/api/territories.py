"""Territories: list, import (GeoJSON), locate a point, and a party's zone map.

A distributor may draw only its own party's map; asking for another party's
answers 403.
"""

from __future__ import annotations

from flask import Response, abort, jsonify
from flask.typing import ResponseReturnValue

import geo
import settlement
from web.api import (
    MONTH_PATTERN,
    api_route,
    json_body,
    json_response,
    query_float,
    query_int,
    query_param,
    query_str,
)
from web.db import get_engine, get_session
from web.roles import ALL_ROLES, Role
from web.security import current_principal
from web.settlement_access import abort_reason

_TERRITORY_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "parent": {"type": ["string", "null"]},
        "level": {"type": "string", "enum": list(geo.LEVELS)},
    },
}
_IMPORT_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "The whole message, for people."},
        "status": {"type": "integer"},
        "feature": {
            "type": ["integer", "null"],
            "description": "0-based position of the invalid feature in `features`.",
        },
        "code": {"type": ["string", "null"], "description": "Its `code` property, if any."},
        "reason": {"type": "string", "description": "What is wrong with it."},
    },
}


def _territory(t: geo.TerritoryNode | geo.Territory) -> dict[str, object]:
    return {"code": t.code, "name": t.name, "parent": t.parent, "level": t.level}


@api_route(
    "/territories",
    summary="Stored territories",
    description=(
        "Every stored territory with its parent and level, parents before their "
        "children (regions, then their countries, ...), siblings by name."
    ),
    responses={
        200: json_response("The territories", {"type": "array", "items": _TERRITORY_SCHEMA})
    },
    roles=ALL_ROLES,
    tags=("territories",),
)
def territories() -> ResponseReturnValue:
    out: list[dict[str, object]] = []
    stack = list(reversed(geo.territory_tree(get_session())))
    while stack:
        node = stack.pop()
        out.append(_territory(node))
        stack.extend(reversed(node.children))
    return jsonify(out)


@api_route(
    "/territories/import",
    methods=("POST",),
    summary="Import a GeoJSON FeatureCollection of territories",
    description=(
        "The body is a FeatureCollection; each feature has properties `code`, `name`, "
        "optionally `parent` (a code in the file or stored) and `level` "
        f"({', '.join(geo.LEVELS)}). Features replace stored territories of the same "
        "code. All or nothing: the first invalid feature answers 422 naming it, and "
        "nothing is stored."
    ),
    request_body={
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    responses={
        200: json_response(
            "Codes created and updated",
            {
                "type": "object",
                "properties": {
                    "created": {"type": "array", "items": {"type": "string"}},
                    "updated": {"type": "array", "items": {"type": "string"}},
                },
            },
        ),
        422: json_response("An invalid feature (nothing stored)", _IMPORT_ERROR_SCHEMA),
    },
    roles=(Role.ADMIN,),
    tags=("territories",),
)
def import_territories() -> ResponseReturnValue:
    fc = json_body()
    session = get_session()
    try:
        report = geo.import_feature_collection(session, fc)
    except geo.TerritoryError as exc:
        session.rollback()
        body = {
            "error": str(exc),
            "status": 422,
            "feature": exc.index,
            "code": exc.code,
            "reason": exc.reason,
        }
        return jsonify(body), 422
    session.commit()
    return jsonify(created=list(report.created), updated=list(report.updated))


@api_route(
    "/territories/locate",
    summary="The territory a point lies in, and its ancestors",
    description=(
        "The deepest stored territory containing the point and the territories "
        "above it, nearest first; `territory` is null when the point lies in none."
    ),
    params=(
        query_param(
            "lon", "number", required=True, minimum=-180, maximum=180, description="degrees, WGS 84"
        ),
        query_param(
            "lat", "number", required=True, minimum=-90, maximum=90, description="degrees, WGS 84"
        ),
    ),
    responses={
        200: json_response(
            "The territory and its ancestors",
            {
                "type": "object",
                "properties": {
                    "lon": {"type": "number"},
                    "lat": {"type": "number"},
                    "territory": {"oneOf": [_TERRITORY_SCHEMA, {"type": "null"}]},
                    "ancestors": {"type": "array", "items": _TERRITORY_SCHEMA},
                },
            },
        )
    },
    roles=ALL_ROLES,
    tags=("territories",),
)
def locate() -> ResponseReturnValue:
    lon, lat = query_float("lon"), query_float("lat")
    assert lon is not None and lat is not None  # required: checked before the view
    try:
        chain = geo.locate_chain(geo.cached_index(get_session()), lon, lat)
    except ValueError as exc:
        abort(400, str(exc))
    return jsonify(
        lon=lon,
        lat=lat,
        territory=_territory(chain[0]) if chain else None,
        ancestors=[_territory(t) for t in chain[1:]],
    )


@api_route(
    "/territories/map.png",
    summary="A party's zone and its month of scans, as a PNG map",
    description=(
        "Without `party`, the stored territories. With it, the party's territories "
        "(those granted at some time of the month) highlighted and the month's "
        "located scans of the units allocated to it: green in zone, red out of zone. "
        "`month` defaults to the month of the newest located scan. The counts are in "
        "the headers `X-Scans-In-Zone` and `X-Scans-Out-Of-Zone`. A distributor sees "
        "only its own party (its default)."
    ),
    params=(
        query_param("party", "string", description="Party code", maxLength=64),
        query_param("month", "string", description="YYYY-MM", pattern=MONTH_PATTERN),
        query_param(
            "width", description="Width in pixels", minimum=200, maximum=4000, default=1200
        ),
    ),
    responses={
        200: {"description": "The map", "content": {"image/png": {}}},
        404: "No such party, or no territories stored",
    },
    roles=(Role.CHANNEL_MANAGER, Role.ADMIN, Role.DISTRIBUTOR),
    tags=("territories",),
)
def territory_map() -> ResponseReturnValue:
    party = query_str("party")
    month = query_str("month")
    width = query_int("width") or 1200
    principal = current_principal()
    if principal is not None and principal.role is Role.DISTRIBUTOR:
        own = principal.party_code
        if own is None or (party is not None and party != own):
            abort(403, "a distributor may see only its own party's map")
        party = own
    if month is not None and party is None:
        abort(400, "query parameter 'month' needs 'party': the scans shown are a party's")
    try:
        zone_map = settlement.party_zone_map(get_engine(), party, month, width_px=width)
    except settlement.ZoneNotFound as exc:
        abort(404, str(exc))
    except settlement.SettlementError as exc:
        abort_reason(422, exc)
    response = Response(zone_map.image, mimetype=zone_map.media_type)
    response.headers["Cache-Control"] = "private, no-cache"
    if zone_map.scans is not None:
        response.headers["X-Scans-In-Zone"] = str(zone_map.scans.n_in_zone)
        response.headers["X-Scans-Out-Of-Zone"] = str(zone_map.scans.n_out_of_zone)
        response.headers["X-Month"] = zone_map.scans.period
    return response
