"""Suspected alerts over the API: the queue public label scans raise.

- ``GET /api/v1/suspects``: filters ``status`` (default ``suspected``; ``any``
  for all), ``kind``, ``territory`` (code), ``party`` (the allocated distributor's
  code); newest raised first; ``limit`` and ``cursor`` (``Link``, ``X-Total-Count``).
- ``GET /api/v1/suspects/<id>``: one, with the unit's public sightings (coarse
  locations) and inspections.
- ``POST /api/v1/suspects/<id>/clear``: ``{"note": "..."}`` (channel managers
  and admins); 400 names ``$.note``, 409 when it is no longer suspected.

Channel managers, admins and inspectors read. Rules: :mod:`sightings.suspects`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from ledger.models import Party
from ledger.times import format_rfc3339
from sightings import suspects
from sightings.errors import SightingError
from sightings.suspects import SightingPoint, SuspectFilters, SuspectNotFound, SuspectRow
from web.api import api_route, json_body, json_response, query_param, query_str
from web.api.body import known, request_json
from web.api.paging import page_answer, page_params, page_window, paged_response
from web.db import get_session
from web.errors import BadParameter, refuse
from web.field.suspects import READERS, WRITERS, refusal_words
from web.security import current_principal

__all__ = ["sighting_json", "suspect_json"]

_OBJECT: dict[str, Any] = {"type": "object"}


def _deg(e6: int | None) -> float | None:
    return None if e6 is None else round(e6 / 1e6, 6)


def _time(at_ms: int | None) -> str | None:
    return None if at_ms is None else format_rfc3339(at_ms)


def suspect_json(r: SuspectRow) -> dict[str, Any]:
    """A suspected alert as the API answers it (times as ms and RFC 3339, null
    for a time no calendar holds; ``lat``/``lon``: its latest sighting, degrees
    rounded to 0.01, or null)."""
    return {
        "id": r.id,
        "unit": r.unit_key,
        "kind": r.kind,
        "status": r.status,
        "allocated_party": r.allocated_code or None,
        "territory": r.territory_code or None,
        "first_ms": r.first_ms,
        "first_at": _time(r.first_ms),
        "last_ms": r.last_ms,
        "last_at": _time(r.last_ms),
        "sighting_count": r.sighting_count,
        "distance_km": r.distance_km,  # sightings.suspects.distance_of: km for a clone, else null
        "resolved_ms": r.resolved_ms,
        "resolved_at": _time(r.resolved_ms),
        "resolved_by": r.resolved_by,
        "resolution_note": r.resolution_note or None,
        "inspection_id": r.inspection_id,
        "alert_id": r.alert_id,
        "lat": _deg(r.lat_e6),
        "lon": _deg(r.lon_e6),
    }


def sighting_json(p: SightingPoint) -> dict[str, Any]:
    """A public sighting or an inspection: id, time, coarse place, verdict."""
    return {
        "id": p.id,
        "at_ms": p.at_ms,
        "at": _time(p.at_ms),
        "lat": _deg(p.lat_e6),
        "lon": _deg(p.lon_e6),
        "territory": p.territory_code or None,
        "verdict": p.verdict,
    }


def _detail(suspect_id: int) -> dict[str, Any]:
    try:
        d = suspects.get_suspect(get_session(), suspect_id)
    except SuspectNotFound:
        abort(404, f"no suspected alert {suspect_id}")
    return {
        **suspect_json(d.row),
        "zone": list(d.zone_codes),
        "sightings": [{**sighting_json(s), "suspect_id": s.suspect_id} for s in d.sightings],
        "sighting_total": d.sighting_total,
        "inspections": [sighting_json(i) for i in d.inspections],
    }


@api_route(
    "/suspects",
    summary="Suspected alerts raised by public label scans, newest first",
    description="Filter by `status` (default `suspected`; `any` for every status), "
    "`kind`, `territory` (where it was seen, a code) and `party` (the code of the "
    "distributor the unit was allocated to); page with `limit` and the `cursor` of "
    "the `Link` header. Answers `{items, total, offset, limit}`.",
    params=(
        query_param("status", "string", enum=[*suspects.STATUSES, "any"]),
        query_param("kind", "string", enum=list(suspects.KINDS)),
        query_param("territory", "string", maxLength=64),
        query_param("party", "string", maxLength=64),
        *page_params("suspected alerts", maximum=500),
    ),
    responses={200: paged_response("A page of suspected alerts", _OBJECT)},
    roles=READERS,
    tags=("suspects",),
)
def suspect_list() -> ResponseReturnValue:
    offset, limit = page_window()
    status = query_str("status") or "suspected"
    party = query_str("party") or ""
    party_id: int | None = None
    session = get_session()
    if party:
        found = session.scalar(select(Party.id).where(Party.code == party))
        if found is None:
            raise BadParameter(
                "party",
                f"party must be a party code, got {party!r}",
                gettext("Distributor: there is no party %(code)s.", code=party),
            )
        party_id = int(found)
    filters = SuspectFilters(
        status="" if status == "any" else status,
        kind=query_str("kind") or "",
        territory=query_str("territory") or "",
        party_id=party_id,
    )
    rows, total = suspects.list_suspects(session, filters, offset=offset, limit=limit)
    return page_answer([suspect_json(r) for r in rows], total, offset, limit)


@api_route(
    "/suspects/<id:suspect_id>",
    summary="One suspected alert with its unit's sightings and inspections",
    responses={200: json_response("The suspected alert", _OBJECT), 404: "No such suspected alert"},
    roles=READERS,
    tags=("suspects",),
)
def suspect_detail(suspect_id: int) -> ResponseReturnValue:
    return jsonify(_detail(suspect_id))


@api_route(
    "/suspects/<id:suspect_id>/clear",
    methods=("POST",),
    summary="Clear a suspected alert with a note",
    description='`{"note": "..."}` (required, at most 2000 characters): why it is '
    "cleared (an authorised outlet, a test...). Answers the suspected alert as "
    "`GET` does.",
    request_body=request_json({"note": {"type": "string"}}, required=("note",)),
    responses={
        200: json_response("The suspected alert, cleared", _OBJECT),
        400: "The note is missing, empty or too long (`parameter`: `$.note`)",
        404: "No such suspected alert",
        409: "It is already confirmed or cleared",
    },
    roles=WRITERS,
    tags=("suspects",),
)
def suspect_clear(suspect_id: int) -> ResponseReturnValue:
    body = json_body()
    known(body, ("note",))
    note = body.get("note")
    if not isinstance(note, str):
        raise BadParameter(
            "$.note",
            "$.note is required: a string saying why the suspected alert is cleared",
            gettext("Write why the suspected alert is cleared: the note is required."),
        )
    me = current_principal()
    assert me is not None  # require_roles
    session = get_session()
    try:
        suspects.clear_suspect(session, suspect_id, actor=me.name, note=note)
    except SuspectNotFound:
        session.rollback()
        abort(404, f"no suspected alert {suspect_id}")
    except SightingError as refused:
        session.rollback()
        if refused.field == "note":
            raise BadParameter("$.note", str(refused), refusal_words(refused)) from None
        refuse(409, refused.words, **refused.values)  # only "already settled" is left
    session.commit()
    return jsonify(_detail(suspect_id))
