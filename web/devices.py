"""Administration of handheld devices: list, register (paste the public key), revoke.

The owning party is a text field for the party's code (any kind: a distributor's,
a dealer's or the manufacturer's warehouse), never pre-filled;
``web/static/party_picker.js`` makes it search as you type through
``GET /api/v1/parties?kind=...``. The server finds the party by its exact code,
ignoring case (:func:`settlement.find_party`), and names the field in words when
it is empty or no party has the code.

The pages answer under the ``admin.`` endpoint names the navigation uses
(``admin.devices``, see :mod:`web.nav`) without touching the users' module: this
blueprint adds its rules to the app under those names when it is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

import settlement
from ledger.times import format_ms
from scanners import DeviceError, list_devices, register_device, revoke_device
from web.admin_routes import admin_rule
from web.api.parties import PARTY_KINDS
from web.db import get_engine, get_session
from web.roles import Role
from web.security import require_roles
from web.settlement_access import current_actor

__all__ = ["RegisterDeviceForm", "bp"]

bp = Blueprint("devices", __name__)


def _admin_rule(rule: str, endpoint: str, methods: tuple[str, ...]) -> Callable[[Any], Any]:
    return admin_rule(bp, rule, endpoint, methods)


class RegisterDeviceForm(FlaskForm):  # type: ignore[misc]
    device_id = StringField(
        _l("Device id"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Letters, digits, '.', '_', ':' or '-', as configured on the handheld."),
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    party = StringField(
        _l("Owning party"),
        validators=[
            DataRequired(
                _l("Owning party: choose the party the device records for (type its code or name).")
            ),
            Length(max=64),
        ],
        description=_l("The party's code; type the start of its code or name to search."),
        render_kw={"autocomplete": "off", "maxlength": 64, "spellcheck": "false"},
    )
    site = StringField(
        _l("Site code"),
        validators=[Optional(), Length(max=64)],
        description=_l("Optional: a site of that party; its scans take the site's location."),
    )
    public_key = TextAreaField(
        _l("Public key"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("base64 Ed25519 public key, as `hopchain handheld keygen` prints it."),
    )


def _date(ms: int | None) -> str:
    return format_ms(ms)


def _render(form: RegisterDeviceForm, status: int = 200) -> ResponseReturnValue:
    picker = {"data-party-picker": url_for("api.parties", kind=",".join(PARTY_KINDS))}
    form.party.render_kw = {**(form.party.render_kw or {}), **picker}
    return (
        render_template(
            "admin/devices.html", devices=list_devices(get_session()), form=form, date=_date
        ),
        status,
    )


def _owning_party(form: RegisterDeviceForm) -> str | None:
    """The stored code of the party typed in ``form.party`` (any kind, any case), or
    None with an error on the field naming it and the code."""
    typed = (form.party.data or "").strip()
    found = settlement.find_party(get_engine(), current_actor(), typed, kind=None)
    if found is None:
        form.party.errors = [gettext("Owning party: no party has the code “%(code)s”.", code=typed)]
        return None
    form.party.data = found.code
    return found.code


@_admin_rule("/devices", "devices", ("GET",))
@require_roles(Role.ADMIN)
def devices() -> ResponseReturnValue:
    return _render(RegisterDeviceForm())


@_admin_rule("/devices", "register_device", ("POST",))
@require_roles(Role.ADMIN)
def register() -> ResponseReturnValue:
    form = RegisterDeviceForm()
    if not form.validate_on_submit():
        return _render(form, 422)
    party = _owning_party(form)
    if party is None:
        return _render(form, 422)
    session = get_session()
    try:
        register_device(
            session,
            form.device_id.data.strip(),
            form.public_key.data.strip(),
            party,
            (form.site.data or "").strip() or None,
            name=(form.name.data or "").strip(),
        )
    except DeviceError as exc:
        session.rollback()
        form.form_errors.append(str(exc))
        return _render(form, 422)
    session.commit()
    flash(gettext("Device %(id)s registered.", id=form.device_id.data.strip()), "success")
    return redirect(url_for("admin.devices"))


@_admin_rule("/devices/<device_id>/revoke", "revoke_device", ("POST",))
@require_roles(Role.ADMIN)
def revoke(device_id: str) -> ResponseReturnValue:
    session = get_session()
    try:
        revoke_device(session, device_id)
    except DeviceError:
        session.rollback()
        abort(404)
    session.commit()
    flash(
        gettext("Device %(id)s revoked: its uploads are refused from now on.", id=device_id),
        "success",
    )
    return redirect(url_for("admin.devices"))
