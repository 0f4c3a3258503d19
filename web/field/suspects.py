"""The suspected-alert queue: what public label scans suggest, until someone checks.

- ``suspects.index`` (``/suspects``): the queue, newest raised first, filtered by
  status (default: still suspected), kind, territory and allocated distributor
  (code), paginated; a map (Leaflet, no tiles: the territories themselves) of
  each row's latest sighting, and beside it how many match by kind and territory.
- ``suspects.detail`` (``/suspects/<id>``): the unit's public sightings and
  inspections on a map and in tables, its zone, the status and what settled it
  (the confirming inspection, the alert it became, a manager's note), and the
  clear form for channel managers and admins.
- ``suspects.clear`` (``POST /suspects/<id>/clear``): clear it with a note.

Channel managers and admins act; inspectors read (they go and check in shops).
The rules are :mod:`sightings.suspects`' and :mod:`sightings.public`'.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.routing import BuildError

from geo.models import TerritoryRow
from ledger.models import Party
from sightings import public, suspects
from sightings.errors import SightingError
from sightings.suspects import SuspectFilters, SuspectNotFound
from web.db import get_session
from web.i18n import N_
from web.paging import page_request
from web.roles import Role
from web.security import current_principal, require_roles
from web.settlement_access import format_ms

__all__ = [
    "KIND_WORDS",
    "READERS",
    "SIGHTING_WORDS",
    "STATUS_WORDS",
    "VERDICT_WORDS",
    "WRITERS",
    "bp",
    "refusal_words",
]

bp = Blueprint("suspects", __name__, url_prefix="/suspects")

READERS = (Role.CHANNEL_MANAGER, Role.ADMIN, Role.INSPECTOR)
WRITERS = (Role.CHANNEL_MANAGER, Role.ADMIN)

KIND_WORDS = {
    "out_of_zone": N_("Seen out of its zone"),
    "clone": N_("Possible copied code"),
}
STATUS_WORDS = {
    "suspected": N_("suspected"),
    "confirmed": N_("confirmed"),
    "cleared": N_("cleared"),
}
VERDICT_WORDS = {
    "in_zone": N_("in its zone"),
    "out_of_zone": N_("out of its zone"),
    "unlocated": N_("in no known territory"),
    "unallocated": N_("not allocated yet"),
}

#: The words of :mod:`sightings.public` and :mod:`sightings.suspects` refusals, marked
#: for the catalogue here (those packages speak English); a test checks each is
#: the same text as the constant it copies.
SIGHTING_WORDS = {
    "BAD_TOKEN": N_(
        "This page's one-time code is not valid for this label: reload the page and try again."
    ),
    "EXPIRED_TOKEN": N_(
        "This page's one-time code expired (it is good for %(minutes)d minutes): "
        "reload the page and try again."
    ),
    "USED_TOKEN": N_(
        "This page's sighting was already recorded (its one-time code was used): "
        "reload the page to share again."
    ),
    "BAD_LAT": N_(
        "The latitude must be a whole number of micro-degrees between -90 and 90 degrees."
    ),
    "BAD_LON": N_(
        "The longitude must be a whole number of micro-degrees between -180 and 180 degrees."
    ),
    "TOO_MANY": N_(
        "This label was shared too often in the last hour (at most %(cap)d times an hour): "
        "try again later."
    ),
    "UNKNOWN_UNIT": N_("No unit of ours carries this code."),
    "NOT_FOUND": N_("There is no suspected alert %(id)s."),
    "NOTE_REQUIRED": N_("Write why the suspected alert is cleared: the note is required."),
    "NOTE_TOO_LONG": N_("The note is too long: at most %(max)d characters."),
    "NOT_OPEN": N_(
        "Suspected alert %(id)s is already %(state)s; only a suspected one can be cleared."
    ),
}
#: Where each of :data:`SIGHTING_WORDS` comes from (module, constant).
SIGHTING_WORD_SOURCES = {
    **{k: (public, k) for k in (
        "BAD_TOKEN", "EXPIRED_TOKEN", "USED_TOKEN", "BAD_LAT", "BAD_LON", "TOO_MANY",
        "UNKNOWN_UNIT",
    )},
    **{k: (suspects, k) for k in ("NOT_FOUND", "NOTE_REQUIRED", "NOTE_TOO_LONG", "NOT_OPEN")},
}  # fmt: skip


def refusal_words(exc: SightingError) -> str:
    """A :class:`~sightings.errors.SightingError` in the request's language (a status
    in a value is said in words too)."""
    values = dict(exc.values)
    if isinstance(values.get("state"), str):
        values["state"] = gettext(STATUS_WORDS.get(values["state"], values["state"]))
    return str(gettext(exc.words, **values) if values else gettext(exc.words))


def _deg(e6: int | None) -> float | None:
    return None if e6 is None else round(e6 / 1e6, 6)


def _territories(codes: set[str]) -> dict[str, Any]:
    """The outlines of ``codes`` as a GeoJSON FeatureCollection (at most 50)."""
    wanted = sorted(c for c in codes if c)[:50]
    rows: list[tuple[str, str, str]] = []
    if wanted:
        rows = [
            (str(c), str(n), str(g))
            for c, n, g in get_session().execute(
                select(TerritoryRow.code, TerritoryRow.name, TerritoryRow.geometry).where(
                    TerritoryRow.code.in_(wanted)
                )
            )
        ]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": code, "name": name},
                "geometry": json.loads(geometry),
            }
            for code, name, geometry in rows
        ],
    }


def _map_words() -> dict[str, str]:
    return {
        "zoom_in": gettext("Zoom in"),
        "zoom_out": gettext("Zoom out"),
        "zone": gettext("Its zone"),
        "sighting": gettext("Public sighting (about 1 km)"),
        "inspection": gettext("Inspection"),
    }


def _filters() -> tuple[SuspectFilters, dict[str, str], list[str]]:
    """The queue's filters from the query string, what the form shows, and the
    problems (a party code no party has)."""
    raw = {k: request.args.get(k, "").strip() for k in ("status", "kind", "territory", "party")}
    if "status" not in request.args:
        raw["status"] = "suspected"
    status = raw["status"] if raw["status"] in suspects.STATUSES else ""
    kind = raw["kind"] if raw["kind"] in suspects.KINDS else ""
    territory = raw["territory"][:64]
    problems: list[str] = []
    party_id: int | None = None
    if raw["party"]:
        found = get_session().scalar(select(Party.id).where(Party.code == raw["party"][:64]))
        if found is None:
            problems.append(gettext("Distributor: there is no party %(code)s.", code=raw["party"]))
            party_id = -1  # matches nothing
        else:
            party_id = int(found)
    shown = {"status": status, "kind": kind, "territory": territory, "party": raw["party"]}
    return SuspectFilters(status, kind, territory, party_id), shown, problems


@bp.get("/", endpoint="index")
@require_roles(*READERS)
def index() -> ResponseReturnValue:
    """The queue; ``?status=`` (default suspected, empty for all), ``?kind=``,
    ``?territory=CODE``, ``?party=CODE``, ``?page=``."""
    filters, shown, problems = _filters()
    session = get_session()
    pager = page_request()
    rows, total = suspects.list_suspects(session, filters, offset=pager.offset, limit=pager.size)
    if total and pager.offset >= total:  # past the end: the last page
        pager = pager.with_total(total)
        rows, total = suspects.list_suspects(
            session, filters, offset=pager.offset, limit=pager.size
        )
    counts = suspects.suspect_counts(session, filters)
    points = [
        {
            "lat": _deg(r.lat_e6),
            "lon": _deg(r.lon_e6),
            "kind": "sighting",
            "label": gettext(
                "#%(id)s %(unit)s: %(kind)s",
                id=r.id,
                unit=r.unit_key,
                kind=gettext(KIND_WORDS[r.kind]) if r.kind in KIND_WORDS else r.kind,
            ),
            "href": url_for("suspects.detail", suspect_id=r.id),
        }
        for r in rows
        if r.lat_e6 is not None and r.lon_e6 is not None
    ]
    spec = {
        "territories": _territories({r.territory_code for r in rows}),
        "zones": {"type": "FeatureCollection", "features": []},
        "points": points,
        "words": _map_words(),
    }
    return render_template(
        "suspects/index.html",
        rows=rows,
        pager=pager.with_total(total),
        counts=counts,
        filters=shown,
        # the other filters a territory's link keeps (status always: empty means any)
        keep={k: v for k, v in shown.items() if k != "territory" and (v or k == "status")},
        problems=problems,
        spec=spec,
        statuses=suspects.STATUSES,
        kinds=suspects.KINDS,
        kind_words=KIND_WORDS,
        status_words=STATUS_WORDS,
        format_ms=format_ms,
    ), (400 if problems else 200)


def _inspection_url(inspection_id: int) -> str:
    """The inspection's page (``inspect.detail``), "" while that page is not installed."""
    if "inspect.detail" not in current_app.view_functions:
        return ""
    try:
        return url_for("inspect.detail", inspection_id=inspection_id)
    except BuildError:
        return ""


def _detail(suspect_id: int, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = get_session()
    try:
        d = suspects.get_suspect(session, suspect_id)
    except SuspectNotFound:
        return render_template("suspects/missing.html", suspect_id=suspect_id), 404
    points = [
        {
            "lat": _deg(s.lat_e6), "lon": _deg(s.lon_e6), "kind": "sighting",
            "label": gettext("Public sighting %(when)s", when=format_ms(s.at_ms)),
        }
        for s in d.sightings
    ] + [
        {
            "lat": _deg(i.lat_e6), "lon": _deg(i.lon_e6), "kind": "inspection",
            "label": gettext("Inspection #%(id)s %(when)s", id=i.id, when=format_ms(i.at_ms)),
        }
        for i in d.inspections
        if i.lat_e6 is not None and i.lon_e6 is not None
    ]  # fmt: skip
    spec = {
        "territories": _territories({s.territory_code for s in d.sightings}),
        "zones": _territories(set(d.zone_codes)),
        "points": points,
        "words": _map_words(),
    }
    me = current_principal()
    manager = me is not None and me.role in WRITERS
    context.setdefault("note", "")
    context.setdefault("error", "")
    return render_template(
        "suspects/detail.html",
        d=d,
        s=d.row,
        spec=spec,
        can_clear=manager and d.row.status == "suspected",
        manager=manager,
        inspection_url=_inspection_url,
        kind_words=KIND_WORDS,
        status_words=STATUS_WORDS,
        verdict_words=VERDICT_WORDS,
        format_ms=format_ms,
        note_max=suspects.NOTE_MAX,
        **context,
    ), status


@bp.get("/<id:suspect_id>", endpoint="detail")
@require_roles(*READERS)
def detail(suspect_id: int) -> ResponseReturnValue:
    """One suspected alert with its unit's sightings and inspections."""
    return _detail(suspect_id)


@bp.post("/<id:suspect_id>/clear", endpoint="clear")
@require_roles(*WRITERS)
def clear(suspect_id: int) -> ResponseReturnValue:
    """Clear a suspected alert: form field ``note`` (required)."""
    note = request.form.get("note", "")
    me = current_principal()
    assert me is not None  # require_roles
    session = get_session()
    try:
        suspects.clear_suspect(session, suspect_id, actor=me.name, note=note)
    except SuspectNotFound:
        session.rollback()
        return render_template("suspects/missing.html", suspect_id=suspect_id), 404
    except SightingError as refused:
        session.rollback()
        status = 409 if refused.field == "status" else 400
        return _detail(suspect_id, status, note=note, error=refusal_words(refused),
                       field=refused.field)  # fmt: skip
    session.commit()
    flash(gettext("Suspected alert %(id)s cleared.", id=suspect_id), "success")
    return redirect(url_for("suspects.detail", suspect_id=suspect_id))
