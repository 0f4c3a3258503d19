"""The pickers of the administration forms (users, API tokens) and their checks.

The party code field searches parties as you type (``GET /api/v1/parties``) and
the token's user field users (``GET /api/v1/users``, administrators only), both
through ``web/static/party_picker.js``; without the script they are plain text
fields. The server checks what was typed before anything is created: a party
code or a username that names nothing is an error on its own field, in words.

The alert page's "Assign to" field is a user picker too (``GET
/api/v1/users?works=alerts``); :func:`alert_assignee_role` finds the typed user's role
for :func:`settlement.assign_alert`, which refuses an unknown user or one who may not
work alerts.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext
from sqlalchemy import select

from web.db import get_session
from web.finance.party_field import find_party_code
from web.forms import CreateTokenForm, CreateUserForm
from web.models import User

__all__ = ["alert_assignee_role", "check_known", "with_pickers"]


def with_pickers(form: CreateUserForm | CreateTokenForm) -> None:
    """Mark the form's party field (and a token form's user field) as pickers."""
    form.party.render_kw = {"data-party-picker": url_for("api.parties")}
    if isinstance(form, CreateTokenForm):
        form.user.render_kw = {"data-user-picker": url_for("api.users")}


def alert_assignee_role(username: str) -> str | None:
    """The role (``users.role``, e.g. ``"channel_manager"``) of the active person whose
    username is exactly ``username``; None when there is none (no such user, an
    inactive one, or a service user, who cannot sign in to work an alert)."""
    role = get_session().scalar(
        select(User.role).where(
            User.username == username.strip(),
            User.active.is_(True),
            User.service.is_(False),
        )
    )
    return None if role is None else str(role)


def check_known(form: CreateUserForm | CreateTokenForm) -> bool:
    """Whether the party code typed names a party (any case, as the finance forms'
    :func:`web.finance.party_field.find_party_code`; a found code is written back as
    stored, ``d-at`` -> ``D-AT``) and, on a token form, the username a user; each one
    that does not gets an error on its field ("Party code: no party has the code …").
    Whether the role takes a party is the account service's rule
    (:data:`web.accounts.PARTY_ROLES`)."""
    ok = True
    db = get_session()
    code = (form.party.data or "").strip()
    if code:
        found = find_party_code(code, kind=None)
        if found is None:
            form.party.errors = [
                gettext("Party code: no party has the code “%(code)s”.", code=code)
            ]
            ok = False
        else:
            form.party.data = found.code  # as stored: the account service looks it up exactly
    if isinstance(form, CreateTokenForm):
        name = (form.user.data or "").strip()
        if name and db.scalar(select(User.id).where(User.username == name)) is None:
            form.user.errors = [gettext("User: no user has the username “%(name)s”.", name=name)]
            ok = False
    return ok
