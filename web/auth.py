"""Signing in and out: password, then (finance, admin, anyone who set it up) a TOTP code.

The password step alone never starts a session for a user with a second
factor: it remembers, for five minutes and in this browser only, whose code is
expected (:data:`_PENDING`), and ``/login/code`` starts the session. Both POSTs
are rate-limited with Flask-Limiter per address and per account
(:func:`init_app`), on top of the per-account lockout in :mod:`web.accounts`.

Limits (config, Flask-Limiter's notation, e.g. ``"30 per minute; 300 per hour"``):
``LOGIN_LIMITS_PER_ADDRESS`` and ``LOGIN_LIMITS_PER_ACCOUNT``. The counters
live in ``RATELIMIT_STORAGE_URI`` (default ``memory://``: per process; use
``redis://...`` when several processes serve the app).
"""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_limiter import Limiter
from flask_login import login_user, logout_user  # type: ignore[import-untyped]

from web import accounts
from web.account import totp, user_sessions
from web.db import get_session
from web.forms import CodeForm, LoginForm
from web.i18n import N_, format_when
from web.security import (
    client_address,
    current_principal,
    current_session_id,
    lockout_policy,
    public,
    safe_next,
    session_policy,
)

__all__ = ["DEFAULT_LIMITS", "bp", "init_app", "start_session"]

bp = Blueprint("auth", __name__)

#: Default sign-in rate limits (every POST to /login or /login/code counts).
DEFAULT_LIMITS = {
    # an office behind one address signs in a few people a minute, not 30
    "LOGIN_LIMITS_PER_ADDRESS": "30 per minute; 300 per hour",
    # lockout stops guessing after 5 failures; this caps even slower guessing
    "LOGIN_LIMITS_PER_ACCOUNT": "10 per minute; 60 per hour",
}
_TOO_MANY = "too many sign-in attempts; wait a minute and try again"  # the error page adds "."
_PENDING = "pending_sign_in"
_PENDING_MS = 5 * 60 * 1000  # the code must follow the password within five minutes
_NO_MATCH = N_("That username and password do not match an active account.")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _locked_message(until_ms: int) -> str:
    return str(
        gettext(
            "This account is locked until %(when)s after too many failed sign-ins. Try again"
            " then, or ask an administrator to unlock it.",
            when=format_when(until_ms),
        )
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if current_principal() is not None and request.method == "GET":
        return redirect(next_url or url_for("pages.home"))
    if form.validate_on_submit():
        db = get_session()
        check = accounts.check_password(
            db,
            form.username.data,
            form.password.data,
            lockout_policy(),
            address=client_address(),
        )
        if check.locked_until_ms is not None:
            flash(_locked_message(check.locked_until_ms), "error")
            return render_template("login.html", form=form, next_url=next_url), 423
        if check.user_id is None:
            flash(gettext(_NO_MATCH), "error")
            return render_template("login.html", form=form, next_url=next_url), 401
        # A new browser session for a new sign-in: nothing from before carries over.
        session.clear()
        if check.needs_code:
            session[_PENDING] = {"user_id": check.user_id, "at_ms": _now_ms(), "next": next_url}
            return redirect(url_for("auth.code"))
        return start_session(check.user_id, next_url)
    status = 422 if form.is_submitted() else 200  # a field missing or too long
    return render_template("login.html", form=form, next_url=next_url), status


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code() -> ResponseReturnValue:
    pending = _pending()
    if pending is None:
        flash(gettext("Sign in with your password first."), "info")
        return redirect(url_for("auth.login"))
    user_id, next_url = pending
    form = CodeForm()
    if form.validate_on_submit():
        check = accounts.check_second_factor(
            get_session(), user_id, form.code.data, lockout_policy(), address=client_address()
        )
        if check.locked_until_ms is not None:
            session.pop(_PENDING, None)
            flash(_locked_message(check.locked_until_ms), "error")
            return redirect(url_for("auth.login"))
        if check.user_id is None:
            flash(
                gettext("That code is not right, or was already used. Wait for the next one."),
                "error",
            )
            return render_template("auth/code.html", form=form), 401
        session.clear()
        return start_session(user_id, next_url)
    return render_template("auth/code.html", form=form), (422 if form.is_submitted() else 200)


def _pending() -> tuple[int, str | None] | None:
    value = session.get(_PENDING)
    if not isinstance(value, dict):
        return None
    user_id, at_ms = value.get("user_id"), value.get("at_ms")
    if not isinstance(user_id, int) or not isinstance(at_ms, int):
        return None
    if _now_ms() - at_ms > _PENDING_MS:
        session.pop(_PENDING, None)
        return None
    next_url = value.get("next")
    return user_id, (safe_next(next_url) if isinstance(next_url, str) else None)


def start_session(user_id: int, next_url: str | None = None) -> ResponseReturnValue:
    """Complete a sign-in: a new server-side session for this browser, then on to
    ``next_url`` (or the two-factor set-up page when the role needs one and the
    user has none)."""
    db = get_session()
    address = client_address()
    accounts.signed_in(db, user_id, address=address)
    session_id = user_sessions.start(
        db,
        user_id,
        session_policy(),
        address=address,
        user_agent=request.headers.get("User-Agent", ""),
    )
    # In words before login_user: the language is chosen from the principal, which
    # login_user replaces with a bare session id until the next request.
    set_up_now = gettext("Your role signs in with a second factor: set it up now.")
    login_user(_LoginUser(session_id), remember=False)
    user = accounts.user_by_id(db, user_id)
    if user is not None and totp.required_for(user.role) and not totp.has_two_factor(user):
        flash(set_up_now, "info")
        return redirect(url_for("two_factor.setup"))
    return redirect(next_url or url_for("pages.home"))


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    # The CSRF token was checked before this view ran (web.security), as for every POST.
    me = current_principal()
    session_id = current_session_id()
    if session_id is not None:
        user_sessions.end(get_session(), session_id)  # a copy of the cookie now fails too
    if me is not None and me.kind == "user":
        accounts.audit(
            get_session(),
            "signed-out",
            username=me.name,
            user_id=me.id,
            address=client_address(),
            actor=me.name,
        )
    logout_user()
    session.clear()
    flash(gettext("You are signed out."), "info")
    return redirect(url_for("auth.login"))


class _LoginUser:
    """What Flask-Login stores in the cookie: the server-side session id (the request
    loader in :mod:`web.security` turns it back into the user, if still live)."""

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, session_id: str) -> None:
        self._id = session_id

    def get_id(self) -> str:
        return self._id


def _address_limits() -> str:
    return str(current_app.config["LOGIN_LIMITS_PER_ADDRESS"])


def _account_limits() -> str:
    return str(current_app.config["LOGIN_LIMITS_PER_ACCOUNT"])


def _account_key() -> str:
    """The account a sign-in POST is about: the username typed, or the user whose code
    is expected."""
    if request.endpoint == "auth.code":
        pending = _pending()
        return f"user-id:{pending[0] if pending else '-'}"
    return "username:" + (request.form.get("username") or "").strip().lower()


def init_app(app: Flask) -> None:
    """Rate-limit the sign-in POSTs of ``app`` (call after its blueprints are registered).

    Each app gets its own :class:`~flask_limiter.Limiter` (its own counters and
    ``RATELIMIT_*`` settings); it wraps the two sign-in views in place.
    """
    for key, value in DEFAULT_LIMITS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter = Limiter(key_func=client_address, app=app)
    app.extensions["hopchain_limiter"] = limiter
    for endpoint in ("auth.login", "auth.code"):
        view: Any = app.view_functions[endpoint]
        view = limiter.limit(
            _address_limits,
            key_func=client_address,
            methods=["POST"],
            scope="sign-in-address",
            error_message=_TOO_MANY,
        )(view)
        view = limiter.limit(
            _account_limits,
            key_func=_account_key,
            methods=["POST"],
            scope="sign-in-account",
            error_message=_TOO_MANY,
        )(view)
        app.view_functions[endpoint] = view
