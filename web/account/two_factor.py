"""Set up two-factor sign-in (TOTP, RFC 6238): scan a QR code, type one code to confirm.

Finance and admin users are sent here right after their first sign-in and can
use nothing else until it is done (``web.security._two_factor_gate``); any other
user may set it up too. The secret being set up waits in this browser's session
until a code made from it confirms it; only then is it stored. A secret once set
is changed by an administrator's reset (lost phone), not here, so a stolen
session cannot replace it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from markupsafe import Markup

from web import accounts
from web.account import totp
from web.db import get_session
from web.forms import CodeForm
from web.roles import ALL_ROLES
from web.security import client_address, current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("two_factor", __name__, url_prefix="/account")

_SETUP_SECRET = "totp_setup_secret"


@bp.route("/two-factor", methods=["GET", "POST"])
@require_roles(*ALL_ROLES)
def setup() -> ResponseReturnValue:
    me = current_principal()
    assert me is not None  # guaranteed by require_roles
    user = accounts.user_by_id(get_session(), me.id) if me.kind == "user" else None
    if user is None:  # a token has no second factor to set up
        return render_template("account/two_factor.html", enrolled=False, form=None), 403
    if totp.has_two_factor(user):
        session.pop(_SETUP_SECRET, None)
        return render_template("account/two_factor.html", enrolled=True, form=None)
    secret = session.get(_SETUP_SECRET)
    if not isinstance(secret, str) or not secret:
        secret = totp.new_secret()
        session[_SETUP_SECRET] = secret
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        if totp.enroll(get_session(), user.id, secret, form.code.data):
            session.pop(_SETUP_SECRET, None)
            accounts.audit_user(
                get_session(),
                "two-factor-set-up",
                user,
                address=client_address(),
            )
            flash(
                gettext(
                    "Two-factor sign-in is on. You will be asked for a code after your password."
                ),
                "success",
            )
            return redirect(url_for("pages.home"))
        form.code.errors = [
            gettext(
                "That code does not match. Check the clock of your phone and type the current code."
            )
        ]
        status = 422
    elif form.is_submitted():
        status = 422
    uri = totp.provisioning_uri(secret, user.username)
    return (
        render_template(
            "account/two_factor.html",
            enrolled=False,
            form=form,
            secret=secret,
            uri=uri,
            qr=Markup(totp.qr_svg(uri)),  # SVG drawn here from our own URI: no user markup
            required=totp.required_for(user.role),
        ),
        status,
    )
