"""Signing in and out with a username and password (session cookie)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user  # type: ignore[import-untyped]

from web import accounts
from web.db import get_session
from web.forms import LoginForm
from web.security import current_principal, public, safe_next

__all__ = ["bp"]

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if current_principal() is not None and request.method == "GET":
        return redirect(next_url or url_for("pages.home"))
    if form.validate_on_submit():
        session = get_session()
        user = accounts.authenticate(session, form.username.data, form.password.data)
        if user is not None:
            principal_id = str(user.id)
            login_user(_LoginUser(principal_id))
            return redirect(next_url or url_for("pages.home"))
        flash("That username and password do not match an active account.", "error")
        return render_template("login.html", form=form, next_url=next_url), 401
    return render_template("login.html", form=form, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    # The CSRF token was checked before this view ran (web.security), as for every POST.
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


class _LoginUser:
    """The minimum Flask-Login needs to start a session; the request loader does the rest."""

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id: str) -> None:
        self._id = user_id

    def get_id(self) -> str:
        return self._id
