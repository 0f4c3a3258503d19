"""Who is asking, and may they: session login for people, bearer tokens for programs.

One decorator, :func:`require_roles`, guards every page and endpoint that changes
or reveals non-public data. It runs on the server for each request; templates
hiding a link are a courtesy, never the control.

People sign in to a server-side session (:mod:`web.account.user_sessions`): the signed
session cookie carries only a random session id, and every request checks that
the session is still live (not signed out, revoked, idle too long or past its
lifetime). Flask-Login's "remember me" cookie is never set, and a remember
cookie made elsewhere would name no live session either.

A request carrying ``Authorization: Bearer ...`` is authenticated by that token
alone (any session cookie is ignored) and is exempt from CSRF checks: a browser
never adds that header by itself, so another site cannot forge such a request.
A token acts as the user it belongs to. Every other state-changing request must
carry a CSRF token.

A finance or admin user who has not set up two-factor sign-in may use only
the set-up page and "sign out" (:func:`_two_factor_gate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import AnonymousUserMixin, LoginManager, current_user  # type: ignore[import-untyped]
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from ledger.models import Party
from web import accounts
from web.account import totp, user_sessions
from web.db import get_session
from web.roles import Role, parse_role

__all__ = [
    "Principal",
    "bearer_secret",
    "client_address",
    "csrf_exempt",
    "current_party_id",
    "current_principal",
    "current_session_id",
    "init_app",
    "is_api_request",
    "lockout_policy",
    "public",
    "require_roles",
    "safe_next",
    "session_policy",
    "unguarded_endpoints",
]

P = ParamSpec("P")
R = TypeVar("R")

API_PREFIX = "/api/v1"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

login_manager = LoginManager()
csrf = CSRFProtect()


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user or token of a request, detached from any database session."""

    kind: str  # "user" | "token"
    id: int  # the user's id, or the token's
    name: str  # the acting user's username (for a token: the user it belongs to)
    display_name: str
    role: Role
    party_id: int | None
    party_code: str | None
    # the user acting: the signed-in user, or the user a token belongs to
    user_id: int | None = None
    # a finance or admin user without a second factor: may only set one up
    must_set_up_two_factor: bool = False

    # Flask-Login's user protocol.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id) if self.kind == "user" else f"token:{self.id}"


# Settings read per request; create_app or a test may override each. Seconds.
_DEFAULTS: dict[str, object] = {
    "SESSION_IDLE_SECONDS": 60 * 60,  # one hour without a request ends a session
    "SESSION_LIFETIME_SECONDS": 12 * 60 * 60,  # a shift; then sign in again
    "LOCKOUT_FAILURES": 5,  # failed sign-ins in a row that lock an account ...
    "LOCKOUT_SECONDS": 15 * 60,  # ... for this long (an admin can unlock sooner)
}


def session_policy() -> user_sessions.SessionPolicy:
    """Idle timeout and lifetime of sessions from the app config
    (``SESSION_IDLE_SECONDS``, ``SESSION_LIFETIME_SECONDS``)."""
    config = current_app.config
    return user_sessions.SessionPolicy(
        idle_s=int(config["SESSION_IDLE_SECONDS"]),
        lifetime_s=int(config["SESSION_LIFETIME_SECONDS"]),
    )


def lockout_policy() -> accounts.LockoutPolicy:
    """Sign-in lockout from the app config (``LOCKOUT_FAILURES``, ``LOCKOUT_SECONDS``)."""
    config = current_app.config
    return accounts.LockoutPolicy(
        max_failures=int(config["LOCKOUT_FAILURES"]), lock_s=int(config["LOCKOUT_SECONDS"])
    )


def client_address() -> str:
    """The caller's address as the WSGI server saw it (behind a proxy, configure
    werkzeug's ProxyFix so this is the client's, not the proxy's)."""
    return request.remote_addr or "unknown"


def current_session_id() -> str | None:
    """The server-side session id this browser's cookie carries, if signed in."""
    value = session.get("_user_id")
    return value if isinstance(value, str) and value else None


def init_app(app: Flask) -> None:
    for key, value in _DEFAULTS.items():
        app.config.setdefault(key, value)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_bearer)
    login_manager.unauthorized_handler(_unauthorized)
    # CSRF is checked in _csrf_unless_bearer instead of on every request, so that
    # token-authenticated programs are not asked for one.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.before_request(_csrf_unless_bearer)
    app.before_request(_two_factor_gate)


def bearer_secret() -> str | None:
    """The token of an ``Authorization: Bearer`` header, ``""`` when malformed, else ``None``."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return secret.strip()


def _csrf_unless_bearer() -> None:
    if request.routing_exception is not None:
        return  # no such route or method: answer 404/405, not a CSRF complaint
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "hopchain_csrf_exempt", False):
        return  # authenticated by a signature over the body, never by a cookie
    if request.method in _UNSAFE_METHODS and bearer_secret() is None:
        csrf.protect()


def csrf_exempt(view: Callable[P, R]) -> Callable[P, R]:
    """Skip the CSRF check for a view that no cookie can authenticate.

    Only for endpoints whose caller proves itself with a signature over the body
    (``POST /api/v1/scans``: the device's Ed25519 key); another site can make a
    browser send a request, never sign one. Put it below ``@api_route``.
    """
    view.hopchain_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def _party_code(party_id: int | None) -> str | None:
    if party_id is None:
        return None
    return get_session().scalar(select(Party.code).where(Party.id == party_id))


def _load_user(session_id: str) -> Principal | None:
    """The user of the live server-side session ``session_id`` (Flask-Login's user loader)."""
    if bearer_secret() is not None or not session_id:
        return None
    user = user_sessions.resolve(get_session(), session_id, session_policy())
    if user is None:  # signed out, revoked, expired, idle, or user deactivated
        return None
    role = Role(user.role)
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        display_name=user.display_name or user.username,
        role=role,
        party_id=user.party_id,
        party_code=_party_code(user.party_id),
        user_id=user.id,
        must_set_up_two_factor=totp.required_for(role) and not totp.has_two_factor(user),
    )


def _load_bearer(_request: Any) -> Principal | None:
    secret = bearer_secret()
    if not secret:
        return None
    found = accounts.authenticate_token(get_session(), secret)
    if found is None:
        return None
    token, user = found
    return Principal(
        kind="token",
        id=token.id,
        name=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        party_id=user.party_id,
        party_code=_party_code(user.party_id),
        user_id=user.id,
    )


def N_(message: str) -> str:  # as web.i18n.N_ (web.i18n imports this module)
    """Mark ``message`` for the catalogue; it is translated where it is shown
    (the API's ``message``, :func:`web.errors.localized_message`)."""
    return message


# What a user who must set up two-factor sign-in may still reach.
_SET_UP_ENDPOINTS = frozenset({"two_factor.setup", "auth.logout", "static"})


def _two_factor_gate() -> Response | None:
    """Send a finance or admin user without a second factor to the set-up page."""
    if request.routing_exception is not None or request.endpoint in _SET_UP_ENDPOINTS:
        return None
    principal = current_principal()
    if principal is None or not principal.must_set_up_two_factor:
        return None
    if is_api_request():
        abort(403, N_("set up two-factor sign-in first: your role needs it."))
    flash(gettext("Set up two-factor sign-in first: your role needs it."), "info")
    return cast(Response, redirect(url_for("two_factor.setup")))


def is_api_request() -> bool:
    """Whether the request is for the JSON API (errors answer JSON, not pages)."""
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _unauthorized() -> Response:
    if is_api_request():
        abort(401)
    flash(gettext("Please sign in to see that page."), "info")
    return cast(Response, redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))


def current_principal() -> Principal | None:
    """The authenticated user or token of this request, if any."""
    user = current_user._get_current_object()
    if isinstance(user, AnonymousUserMixin) or not getattr(user, "is_authenticated", False):
        return None
    assert isinstance(user, Principal)
    return user


def current_party_id() -> int | None:
    """The party the caller belongs to; distributor-scoped queries filter on it.

    ``None`` for users of the manufacturer (no party). A distributor always has
    one (accounts refuse to create a distributor without it).
    """
    principal = current_principal()
    return None if principal is None else principal.party_id


def require_roles(*roles: Role | str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let the view run only for an authenticated caller holding one of ``roles``.

    Unauthenticated: 401 JSON under ``/api/v1``, else a redirect to the login page.
    Wrong role: 403 (JSON or the error page). With no roles, any signed-in caller
    passes. Roles are exact: ``admin`` is not implied, list it where it applies.
    Unknown role names fail here, when the module is imported, not per request.
    """
    allowed = frozenset(parse_role(r) for r in roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
            if principal is None:
                return cast(R, login_manager.unauthorized())
            if allowed and principal.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        guarded.hopchain_roles = tuple(sorted(allowed))  # type: ignore[attr-defined]
        return guarded

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (no open redirect to another host)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def public(view: Callable[P, R]) -> Callable[P, R]:
    """Declare a view open to everyone (it must reveal nothing that is not public).

    Every view is either ``@require_roles(...)`` or ``@public``; the test suite
    fails on any other (see :func:`unguarded_endpoints`), so forgetting the
    decorator on a new page cannot silently publish it.
    """
    view.hopchain_public = True  # type: ignore[attr-defined]
    return view


# Flask's own static files: public by nature.
_ALWAYS_PUBLIC = frozenset({"static"})


def unguarded_endpoints(app: Flask) -> list[str]:
    """Endpoints whose view is neither role-guarded nor declared public."""
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint not in _ALWAYS_PUBLIC
        and not hasattr(view, "hopchain_roles")
        and not getattr(view, "hopchain_public", False)
    )
