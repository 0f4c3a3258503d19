"""What the partner-management page modules share (parties, recruitment,
agreements, evaluation, CRM, exits): the signed-in role, today's date, and
whether another area's page exists to link to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from flask import current_app

from web.roles import Role
from web.security import current_principal

__all__ = ["has_role", "linked", "role", "today"]


def role() -> str:
    """The signed-in principal's role value (``partner_manager``), ``""`` for nobody."""
    principal = current_principal()
    return "" if principal is None else principal.role.value


def has_role(roles: Collection[Role]) -> bool:
    """Whether someone is signed in with one of ``roles``."""
    principal = current_principal()
    return principal is not None and principal.role in roles


def today() -> dt.date:
    """Today's date in UTC."""
    return dt.datetime.now(dt.UTC).date()


def linked(endpoint: str) -> bool:
    """Whether the page ``endpoint`` is registered (another area's page may not be)."""
    return endpoint in current_app.view_functions
