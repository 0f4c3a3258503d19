"""Change your own password (every role): current password, then the new one twice.

A change ends every session of the user, this one included, and starts a new
session for this browser, so a session opened elsewhere with the old password
(or stolen) stops working. API tokens are separate credentials and are not
touched (:func:`web.accounts.change_password`).
"""

from __future__ import annotations

from flask import Blueprint, flash, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from web import accounts
from web.auth import start_session
from web.db import get_session
from web.forms import ChangePasswordForm
from web.roles import ALL_ROLES
from web.security import client_address, current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("password", __name__, url_prefix="/account")


@bp.route("/password", methods=["GET", "POST"])
@require_roles(*ALL_ROLES)
def change() -> ResponseReturnValue:
    me = current_principal()
    assert me is not None  # guaranteed by require_roles
    if me.kind != "user":
        return render_template("account/password.html", form=None), 403
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("account/password.html", form=form), status
    try:
        ended = accounts.change_password(
            get_session(), me.id, form.current.data, form.new.data, address=client_address()
        )
    except accounts.AccountError as exc:
        form.form_errors.append(_sentence(str(exc)))
        return render_template("account/password.html", form=form), 422
    others = max(ended - 1, 0)
    flash(
        gettext("Your password is changed.")
        + (
            " " + gettext("%(num)s other session(s) of yours were signed out.", num=others)
            if others
            else ""
        ),
        "success",
    )
    return start_session(me.id)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
