"""The home dashboard: greets the person by name and role, shows their pages."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from web.roles import ALL_ROLES
from web.security import current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("pages", __name__)


@bp.route("/")
@require_roles(*ALL_ROLES)
def home() -> ResponseReturnValue:
    return render_template("home.html", me=current_principal())
