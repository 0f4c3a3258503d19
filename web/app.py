"""The application factory: :func:`create_app` builds the Flask app (configuration,
database, security, languages, every blueprint and the API); importing this module
imports Flask, importing the ``web`` package does not (:mod:`web`).
"""

from __future__ import annotations

import importlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app

from web.routing import rule_class

__all__ = ["BLUEPRINT_MODULES", "create_app", "load_secret_key"]

# Page modules, each exposing ``bp`` (a Blueprint). The API has its own list in web.api.
BLUEPRINT_MODULES: tuple[str, ...] = (
    "web.auth",
    "web.pages",
    "web.admin",
    "web.ledger_pages",
    "web.scan_station",
    "web.trace",
    "web.devices",
    "web.territories",
    "web.alerts",
    "web.settlement_pages",
    "web.partner",
    "web.finance.money",
    "web.finance.reference",
    "web.finance.prices",
    "web.finance.fx",
    "web.finance.programs",
    "web.finance.targets",
    "web.finance.deposits",
    "web.finance.adjustments",
    "web.finance.billing",
    "web.finance.imports_page",
    "web.finance.disputes",
    "web.partners.evaluation",
    "web.partners.crm",
    "web.partners.agreements",
    "web.partners.apply",
    "web.partners.recruitment",
    "web.partners.exits",
    "web.partners.parties",
    "web.credit.files",
    "web.account.password",
    "web.account.two_factor",
    "web.account.preferences",
    "web.outbox",
    "web.credit.alerts",
    "web.credit.register",
    "web.credit.accuracy",
    "web.credit.assess",
    "web.credit.items",
    "web.label.products",  # blueprint "label": web.label.verify's pages and the product pages
    "web.field.inspect",
    "web.label.resolver",
    "web.field.suspects",
)

_MAX_BODY = 16 * 1024 * 1024  # a scan batch of tens of thousands of events fits

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # No inline scripts or third-party assets anywhere: everything is served by us.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
# RFC 6797: browsers use HTTPS only for a year, subdomains included (sent with Secure cookies).
_HSTS = "max-age=31536000; includeSubDomains"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, then ``test_config`` on top.

    Environment: ``HOPCHAIN_INSTANCE`` (default ``./instance``: SQLite database,
    signing key, generated secret key), ``HOPCHAIN_DATABASE_URL``,
    ``HOPCHAIN_SECRET_KEY``, ``HOPCHAIN_RATELIMIT_STORAGE_URI`` (sign-in rate
    limit counters, default ``memory://``), ``HOPCHAIN_SECURE_COOKIES=0`` for
    development over plain HTTP only.
    ``test_config`` may also set ``INSTANCE_PATH`` and ``DATABASE_URL``.

    Cookies (session, which also holds the CSRF token) are ``Secure``,
    ``HttpOnly`` and ``SameSite=Lax``, and every answer carries HSTS, unless the
    config says ``SECURE_COOKIES=False``: only ``hopchain serve`` on a loopback
    host and the tests do. Session, lockout and rate-limit settings:
    :mod:`web.security`, :mod:`web.auth`.
    """
    overrides = dict(test_config or {})
    instance = Path(
        overrides.pop("INSTANCE_PATH", None) or os.environ.get("HOPCHAIN_INSTANCE") or "instance"
    ).resolve()
    app = Flask("web", instance_path=str(instance))  # root: the web package (templates, static)
    app.url_rule_class = rule_class()  # url_for builders compiled on first use (web/routing.py)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("HOPCHAIN_DATABASE_URL") or f"sqlite:///{instance}/hopchain.db",
        SECRET_KEY=os.environ.get("HOPCHAIN_SECRET_KEY") or None,
        MAX_CONTENT_LENGTH=_MAX_BODY,
        SESSION_COOKIE_NAME="hopchain_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SECURE_COOKIES=os.environ.get("HOPCHAIN_SECURE_COOKIES", "1") != "0",
        REMEMBER_COOKIE_HTTPONLY=True,
        RATELIMIT_STORAGE_URI=os.environ.get("HOPCHAIN_RATELIMIT_STORAGE_URI") or "memory://",
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life: long scan shifts
    )
    app.config.update(overrides)
    secure = bool(app.config["SECURE_COOKIES"])
    app.config.update(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys live here
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = load_secret_key(instance)

    from web import api, auth, converters, db, errors, i18n, security, templating

    converters.init_app(app)  # <id:...>, <seq:...>: before any rule is added
    db.init_app(app, app.config["DATABASE_URL"])
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    i18n.init_app(app)  # after templating: its `when` filter shows the user's time zone
    for module_name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(module_name).bp)
    auth.init_app(app)  # sign-in rate limits: wraps the registered sign-in views
    api.register(app)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["SECURE_COOKIES"]:
        response.headers.setdefault("Strict-Transport-Security", _HSTS)
    return response


def load_secret_key(instance: Path) -> str:
    """The instance's session-signing key, generated on first use (file mode 0600).

    Kept in the instance folder, never in the repository, so each installation
    has its own and sessions survive restarts.
    """
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise RuntimeError(f"{path} is empty; delete it to generate a new key") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
