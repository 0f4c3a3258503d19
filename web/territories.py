"""The territory page (``admin.territories``): hierarchy, GeoJSON upload, grants
per party with their history, and a party's month of scans on a map.

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

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired

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
from web.words import words

__all__ = ["GrantForm", "ImportForm", "bp"]

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


class GrantForm(FlaskForm):  # type: ignore[misc]
    # A text field for the party's code: with web/static/party_picker.js it suggests
    # parties as you type; without it, the server checks the code. Never pre-filled.
    party = StringField(
        _l("Party"),
        validators=[DataRequired(_l("Party: choose the distributor to grant to."))],
        description=_l("The distributor's code; type its code or name to search."),
        render_kw={"autocomplete": "off", "maxlength": 64, "spellcheck": "false"},
    )
    territory = SelectField(
        _l("Territory"),
        choices=[],
        validate_choice=False,
        validators=[DataRequired(_l("Territory: choose the territory to grant."))],
    )
    valid_from = DateField(
        _l("From"),
        validators=[DataRequired(_l("Give the first day of the grant."))],
        description=_l("The grant starts at midnight UTC of this day."),
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


def _fill_choices(
    form: GrantForm, parties: list[tuple[str, str]], tree: list[geo.TerritoryNode]
) -> None:
    picker = {"data-party-picker": url_for("api.parties")}
    form.party.render_kw = {**(form.party.render_kw or {}), **picker}
    groups: dict[str, list[tuple[str, str]]] = {"": [("", gettext("choose…"))]}
    for root in tree:
        label = root.name if root.children else gettext("Other")
        options = groups.setdefault(label, [])
        options.append((root.code, f"{root.name} ({root.code}, {words(root.level)})"))
        stack = list(reversed(root.children))
        while stack:
            node = stack.pop()
            options.append((node.code, f"{node.name} ({node.code})"))
            stack.extend(reversed(node.children))
    form.territory.choices = groups


def _render(
    *,
    import_form: ImportForm | None = None,
    grant_form: GrantForm | None = None,
    import_error: geo.TerritoryError | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    engine = get_engine()
    session = get_session()
    tree = geo.territory_tree(session)
    parties = [
        (code, name)
        for code, name in session.execute(
            select(Party.code, Party.name).where(Party.kind == "distributor").order_by(Party.code)
        ).all()
    ]
    grants = settlement.list_grants(engine)
    import_form = import_form or ImportForm()
    if grant_form is None:
        grant_form = GrantForm()
        grant_form.valid_from.data = datetime.now(UTC).date()
    _fill_choices(grant_form, parties, tree)

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
            has_parties=bool(parties),
            party_unknown=party_unknown,
            parties_url=url_for("api.parties"),
            grants=grants,
            active_grants=sum(1 for g in grants if g.status(now) == "active"),
            now=now,
            day=_day,
            today=_day(now),
            import_form=import_form,
            import_error=import_error,
            grant_form=grant_form,
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


@_admin_rule("/territories/grants", "grant_territory", ("POST",))
@require_roles(*PAGE_ROLES)
def grant() -> ResponseReturnValue:
    form = GrantForm()
    if not form.validate_on_submit():
        return _render(grant_form=form, status=422)
    chosen = settlement.find_party(get_engine(), _actor(), form.party.data or "")
    if chosen is None:
        form.party.errors = [
            gettext("Party: no distributor has the code %(code)s.", code=repr(form.party.data))
        ]
        return _render(grant_form=form, status=422)
    form.party.data = chosen.code
    start = settlement.day_start_ms(form.valid_from.data.isoformat())
    try:
        grant_id = settlement.grant_party_territory(
            get_engine(), chosen.code, form.territory.data, start, _actor()
        )
    except settlement.SettlementError as exc:
        form.form_errors.append(reason_words(exc))
        return _render(grant_form=form, status=422)
    flash(
        gettext(
            "Grant %(id)s: %(party)s holds %(territory)s from %(day)s.",
            id=grant_id,
            party=form.party.data,
            territory=form.territory.data,
            day=_day(start),
        ),
        "success",
    )
    return redirect(url_for("admin.territories", party=form.party.data) + "#grants")


@_admin_rule("/territories/grants/<id:grant_id>/end", "end_territory_grant", ("POST",))
@require_roles(*PAGE_ROLES)
def end(grant_id: int) -> ResponseReturnValue:
    day = request.form.get("on", "").strip() or _day(_now_ms())
    try:
        ended = settlement.end_party_grant(
            get_engine(), grant_id, settlement.day_start_ms(day), _actor()
        )
    except settlement.SettlementError as exc:
        flash(
            gettext("Grant %(id)s not ended: %(reason)s", id=grant_id, reason=reason_words(exc)),
            "error",
        )
        return redirect(url_for("admin.territories") + "#grants")
    flash(
        gettext(
            "Grant %(id)s ended: %(party)s holds %(territory)s until %(day)s.",
            id=grant_id,
            party=ended.party_code,
            territory=ended.territory_code,
            day=day,
        ),
        "success",
    )
    return redirect(url_for("admin.territories", party=ended.party_code) + "#grants")
