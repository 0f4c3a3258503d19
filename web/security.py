"""Who is asking, and may they: session login for people, bearer tokens for programs.

One decorator, :func:`require_roles`, guards every page and endpoint that changes
or reveals non-public data. It runs on the server for each request; templates
hiding a link are a courtesy, never the control.

A request carrying ``Authorization: Bearer ...`` is authenticated by that token
alone (any session cookie is ignored) and is exempt from CSRF checks: a browser
never adds that header by itself, so another site cannot forge such a request.
Every other state-changing request must carry a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, redirect, request, url_for
from flask_login import AnonymousUserMixin, LoginManager, current_user  # type: ignore[import-untyped]
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select

from ledger.models import Party
from web import accounts
from web.db import get_session
from web.models import User
from web.roles import Role, parse_role

__all__ = [
    "Principal",
    "bearer_secret",
    "csrf_exempt",
    "current_party_id",
    "current_principal",
    "init_app",
    "is_api_request",
    "public",
    "require_roles",
    "safe_next",
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
    id: int
    name: str  # username, or the token's label
    display_name: str
    role: Role
    party_id: int | None
    party_code: str | None
    # the user acting: the signed-in user, or the user a token belongs to (None only
    # for tokens made before tokens belonged to users)
    user_id: int | None = None

    # Flask-Login's user protocol.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id) if self.kind == "user" else f"token:{self.id}"


def init_app(app: Flask) -> None:
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


def _load_user(user_id: str) -> Principal | None:
    if bearer_secret() is not None or not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active:  # deactivation ends open sessions
        return None
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        display_name=user.display_name or user.username,
        role=Role(user.role),
        party_id=user.party_id,
        party_code=_party_code(user.party_id),
        user_id=user.id,
    )


def _load_bearer(_request: Any) -> Principal | None:
    secret = bearer_secret()
    if not secret:
        return None
    token = accounts.token_by_secret(get_session(), secret)
    if token is None:
        return None
    return Principal(
        kind="token",
        id=token.id,
        name=token.label or f"token {token.id}",
        display_name=token.label or f"API token {token.id}",
        role=Role(token.role),
        party_id=token.party_id,
        party_code=_party_code(token.party_id),
        user_id=token.user_id,
    )


def is_api_request() -> bool:
    """Whether the request is for the JSON API (errors answer JSON, not pages)."""
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _unauthorized() -> Response:
    if is_api_request():
        abort(401)
    flash("Please sign in to see that page.", "info")
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
