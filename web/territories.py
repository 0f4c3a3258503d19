"""The territory page (``admin.territories``): hierarchy, GeoJSON upload, grants
per party with their history and the signed agreement that made each, and a
party's month of scans on a map.

Grants are not made here: they come from signed agreements
(:mod:`partners.in_force`), so the page links each grant to its agreement
(``agreements.agreement``, when that page is registered) and says how to change
one (a supplementary agreement) or end it (a termination).

Channel managers and admins use it; only admins upload territories (as the
API's import). The map image itself is ``GET /api/v1/territories/map.png``.
The pages answer under ``admin.`` endpoint names (see :mod:`web.nav`) from
this blueprint, as :mod:`web.devices` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

import geo
import settlement
from ledger.models import Party
from ledger.times import format_day, format_ms
from web import page_params
from web.admin_routes import admin_rule
from web.db import get_engine, get_session
from web.errors import BadParameter, localized_message
from web.i18n import N_
from web.reasons import reason_words
from web.roles import Role
from web.security import current_principal, require_roles

__all__ = ["ImportForm", "bp"]

bp = Blueprint("territories", __name__)

PAGE_ROLES = (Role.ADMIN, Role.CHANNEL_MANAGER)
OUT_OF_ZONE_SHOWN = 25


def _admin_rule(rule: str, endpoint: str, methods: tuple[str, ...]) -> Callable[[Any], Any]:
    return admin_rule(bp, rule, endpoint, methods)


class ImportForm(FlaskForm):  # type: ignore[misc]
    file = FileField(
        _l("GeoJSON file"),
        validators=[FileRequired(_l("Choose a .geojson or .json file."))],
        render_kw={"accept": ".geojson,.json,application/geo+json,application/json"},
        description=_l(
            "A FeatureCollection; each feature has properties `code`, `name`, and optionally "
            "`parent` and `level`. Features replace stored territories of the same code."
        ),
    )


def _day(ms: int | None) -> str:
    return format_day(ms)


def _time(ms: int) -> str:
    return format_ms(ms, "%Y-%m-%d %H:%M")


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _actor() -> settlement.Actor:
    p = current_principal()
    if p is None:  # require_roles has let only signed-in callers through
        abort(401)
    return settlement.Actor(p.name, p.role.value, p.party_id, p.user_id)


def _render(
    *,
    import_form: ImportForm | None = None,
    import_error: geo.TerritoryError | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    engine = get_engine()
    session = get_session()
    tree = geo.territory_tree(session)
    has_parties = session.scalar(select(Party.id).where(Party.kind == "distributor").limit(1))
    grants = settlement.list_grants(engine)
    import_form = import_form or ImportForm()
    views = current_app.view_functions

    # the map: the party asked for (its code typed in the map's picker, any case),
    # else the first party holding a grant
    party = request.args.get("party", "").strip() or (grants[0].party_code if grants else "")
    month = request.args.get("month", "").strip() or settlement.latest_scan_month(engine) or ""
    map_error = ""
    try:  # a malformed month is named above the map (400), never the engine's English
        month = page_params.period("month", N_("Month"), month, "month") if month else ""
    except BadParameter as exc:
        map_error, month, status = localized_message(exc), "", 400
    scans: settlement.ZoneScans | None = None
    party_unknown = False
    if party:
        found = settlement.find_party(engine, _actor(), party)
        if found is None:
            map_error = gettext("Party: no distributor has the code “%(code)s”.", code=party)
            party_unknown = True
        else:
            party = found.code
    if party and month and tree and not map_error:
        try:
            scans = settlement.party_zone_scans(engine, party, month)
        except settlement.SettlementError as exc:
            map_error = reason_words(exc)
    out_of_zone = []
    if scans is not None:
        for i in (~scans.in_zone).nonzero()[0][:OUT_OF_ZONE_SHOWN].tolist():
            out_of_zone.append(
                {
                    "seq": int(scans.seq[i]),
                    "at": _time(int(scans.at_ms[i])),
                    "unit": scans.unit_key[i],
                    "kind": scans.kind[i],
                    "by": scans.scanned_by[i],
                    "located": scans.located[i],
                }
            )
    now = _now_ms()
    principal = current_principal()
    return (
        render_template(
            "admin/territories.html",
            tree=tree,
            territory_count=sum(n.size for n in tree),
            has_parties=has_parties is not None,
            party_unknown=party_unknown,
            parties_url=url_for("api.parties"),
            grants=grants,
            active_grants=sum(1 for g in grants if g.status(now) == "active"),
            now=now,
            day=_day,
            today=_day(now),
            import_form=import_form,
            import_error=import_error,
            agreement_links="agreements.agreement" in views,
            agreements_url=url_for("agreements.index") if "agreements.index" in views else "",
            can_import=principal is not None and principal.role is Role.ADMIN,
            party=party,
            month=month,
            scans=scans,
            map_error=map_error,
            out_of_zone=out_of_zone,
        ),
        status,
    )


@_admin_rule("/territories", "territories", ("GET",))
@require_roles(*PAGE_ROLES)
def territories() -> ResponseReturnValue:
    return _render()


@_admin_rule("/territories/import", "import_territories", ("POST",))
@require_roles(Role.ADMIN)
def import_territories() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate_on_submit():
        return _render(import_form=form, status=422)
    upload = form.file.data
    try:
        fc = json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        form.form_errors.append(f"{upload.filename}: not a JSON file ({exc})")
        return _render(import_form=form, status=422)
    if not isinstance(fc, dict):
        form.form_errors.append(f"{upload.filename}: a FeatureCollection must be a JSON object")
        return _render(import_form=form, status=422)
    session = get_session()
    try:
        report = geo.import_feature_collection(session, fc)
    except geo.TerritoryError as exc:
        session.rollback()
        return _render(import_form=form, import_error=exc, status=422)
    session.commit()
    flash(
        gettext(
            "%(file)s: %(created)s territories created, %(updated)s updated.",
            file=upload.filename,
            created=len(report.created),
            updated=len(report.updated),
        ),
        "success",
    )
    return redirect(url_for("admin.territories"))
