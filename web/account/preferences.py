"""Language and time zone: the switcher on every page and the preferences page.

``POST /language`` (form fields ``locale`` and ``next``, CSRF-checked like every
form) stores the chosen language in the signed-in user's profile
(``users.locale``, audited as ``preferences-changed``), or in the session for a
visitor (the sign-in page), then returns to ``next``. ``/account/preferences``
sets the language, the IANA time zone (``users.timezone``) in which pages show
times and the person's e-mail address (``users.email``, optional, checked and
normalized by email-validator; :mod:`notify` sends statements and confirmed alerts
there). The request's language and zone are chosen in :mod:`web.i18n`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, refresh

from notify import NotifyError, normalize_address
from web import accounts
from web.db import get_session
from web.errors import BadParameter
from web.forms import PreferencesForm
from web.i18n import SUPPORTED, is_time_zone, language_names, language_of, time_zones
from web.models import User
from web.roles import ALL_ROLES
from web.security import client_address, current_principal, public, require_roles, safe_next

__all__ = ["bp"]

bp = Blueprint("preferences", __name__)


def _own_user() -> User | None:
    """The signed-in person's row; None for visitors and API tokens."""
    me = current_principal()
    if me is None or me.kind != "user":
        return None
    return get_session().get(User, me.id)


_UNCHANGED = object()


def _save(
    user: User, locale: str, timezone: str | None, email: str | object | None = _UNCHANGED
) -> None:
    changed: dict[str, str] = {}
    if user.locale != locale:
        changed["locale"] = locale
    if timezone is not None and user.timezone != timezone:
        changed["timezone"] = timezone
    if email is not _UNCHANGED and user.email != email:
        changed["email"] = str(email or "")
    if not changed:
        return
    user.locale = locale
    if timezone is not None:
        user.timezone = timezone
    if email is not _UNCHANGED:
        user.email = email if isinstance(email, str) else None
    accounts.audit_user(
        get_session(), "preferences-changed", user, address=client_address(), **changed
    )  # commits the change with its audit row


@bp.post("/language")
@public
def language() -> ResponseReturnValue:
    """Switch the language: 400 naming the field for a language the pages lack."""
    chosen = language_of(request.form.get("locale", ""))
    if chosen is None:
        typed = request.form.get("locale", "")
        known = ", ".join(lang.code for lang in SUPPORTED)
        raise BadParameter(
            "locale",
            f"locale: {typed!r} is not one of {known}",
            gettext(
                "Language (locale): %(value)s is not a language of these pages; choose %(names)s",
                value=repr(typed),
                names=language_names(),
            ),
        )
    user = _own_user()
    if user is not None:
        _save(user, chosen.code, None)
    session["locale"] = chosen.code
    refresh()
    target = safe_next(request.form.get("next")) or url_for("pages.home")
    return redirect(target)


@bp.route("/account/preferences", methods=["GET", "POST"])
@require_roles(*ALL_ROLES)
def edit() -> ResponseReturnValue:
    user = _own_user()
    if user is None:  # an API token has no profile
        abort(403)
    form = PreferencesForm(
        locale=user.locale or "", timezone=user.timezone or "UTC", email=user.email or ""
    )
    form.locale.choices = [(lang.code, lang.name) for lang in SUPPORTED]
    form.timezone.choices = [(zone, zone) for zone in time_zones()]
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("account/preferences.html", form=form), status
    chosen = language_of(form.locale.data)
    zone = form.timezone.data
    if chosen is None or not is_time_zone(zone):  # SelectField already refused these
        abort(400)
    typed = (form.email.data or "").strip()
    try:
        email = normalize_address(typed) if typed else None
    except NotifyError:  # the form's Email validator already refused most of these
        form.email.errors.append(gettext("Enter an e-mail address such as name@example.com."))
        return render_template("account/preferences.html", form=form), 422
    email_changed = user.email != email
    _save(user, chosen.code, zone, email)
    session["locale"] = chosen.code
    refresh()
    flash(gettext("Your language and time zone are saved."), "success")
    if email_changed:
        flash(
            gettext("Your e-mail address is saved.")
            if email
            else gettext("Your e-mail address is removed: hopchain sends you no e-mail."),
            "success",
        )
    return redirect(url_for("preferences.edit"))
