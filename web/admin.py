"""Administration pages: users (list, create, deactivate, unlock, reset two-factor,
set their e-mail address),
API tokens (list, create, revoke) and the account activity (the audit trail of
:func:`web.accounts.audit`). Each action is recorded with the signed-in
administrator as its actor. Devices and territories pages belong to their
packages' authors and register as ``admin.devices`` and ``admin.territories`` on
their own blueprints' endpoints, see :mod:`web.nav`."""

from __future__ import annotations

import time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from notify import NotifyError, normalize_address
from web import accounts
from web.admin_pickers import check_known, with_pickers
from web.db import get_session
from web.errors import BadParameter
from web.forms import CreateTokenForm, CreateUserForm, UserEmailForm
from web.models import User
from web.paging import page_request
from web.roles import Role
from web.security import client_address, current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

_MAX_FILTER = 64  # a username is at most 64 characters


def _actor() -> str:
    """The administrator acting (the audit trail's ``actor``)."""
    me = current_principal()
    assert me is not None  # guaranteed by require_roles
    return me.name


def _show_account_error(form: CreateUserForm | CreateTokenForm, exc: accounts.AccountError) -> None:
    """``exc`` in the reader's language on the field it names, else above the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    words = accounts.account_error_words(exc)
    if field is not None:
        field.errors = [*field.errors, words]
    else:
        form.form_errors.append(words)


def _render_users(
    form: CreateUserForm, status: int = 200, email_error: tuple[int, str] | None = None
) -> ResponseReturnValue:
    with_pickers(form)
    db = get_session()
    me = current_principal()
    emails = {
        uid: email
        for uid, email in db.execute(select(User.id, User.email).where(User.email.is_not(None)))
    }
    return (
        render_template(
            "admin/users.html",
            users=accounts.list_users(db),
            emails=emails,
            email_error=email_error,
            service_users=accounts.list_users(db, service=True),
            form=form,
            my_id=None if me is None or me.kind != "user" else me.id,
            now_ms=time.time_ns() // 1_000_000,
            format_utc=accounts.format_utc,
        ),
        status,
    )


@bp.get("/users")
@require_roles(Role.ADMIN)
def users() -> ResponseReturnValue:
    return _render_users(CreateUserForm())


@bp.post("/users")
@require_roles(Role.ADMIN)
def create_user() -> ResponseReturnValue:
    form = CreateUserForm()
    if not form.validate_on_submit() or not check_known(form):
        return _render_users(form, 422)
    try:
        accounts.create_user(
            get_session(),
            form.username.data,
            form.password.data,
            form.role.data,
            party=form.party.data or None,
            display_name=form.display_name.data or "",
            actor=_actor(),
            address=client_address(),
        )
    except accounts.AccountError as exc:
        _show_account_error(form, exc)
        return _render_users(form, 422)
    flash(gettext("User %(name)s created.", name=form.username.data.strip()), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/email")
@require_roles(Role.ADMIN)
def set_user_email(user_id: int) -> ResponseReturnValue:
    """Set a person's e-mail address (empty: remove it), audited as ``email-changed``;
    422 with the reason in words for an address email-validator refuses."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None or user.service:
        abort(404)
    form = UserEmailForm()
    typed = (form.email.data or "").strip()
    email: str | None = None
    if not form.validate_on_submit():
        errors = form.email.errors or [gettext("Enter an e-mail address such as name@example.com.")]
        return _render_users(CreateUserForm(formdata=None), 422, (user_id, str(errors[0])))
    if typed:
        try:
            email = normalize_address(typed)
        except NotifyError:
            message = gettext("Enter an e-mail address such as name@example.com.")
            return _render_users(CreateUserForm(formdata=None), 422, (user_id, message))
    if user.email != email:
        user.email = email
        accounts.audit_user(
            db, "email-changed", user, address=client_address(), actor=_actor(), email=email or ""
        )  # commits the change with its audit row
    flash(gettext("E-mail address of %(name)s saved.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/deactivate")
@require_roles(Role.ADMIN)
def deactivate_user(user_id: int) -> ResponseReturnValue:
    me = current_principal()
    if me is not None and me.kind == "user" and me.id == user_id:
        abort(409, "you cannot deactivate your own account")
    try:
        accounts.set_user_active(
            get_session(), user_id, active=False, address=client_address(), actor=_actor()
        )
    except accounts.AccountError:
        abort(404)
    flash(
        gettext("User deactivated; their open sessions have ended and their tokens are refused."),
        "success",
    )
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/reactivate")
@require_roles(Role.ADMIN)
def reactivate_user(user_id: int) -> ResponseReturnValue:
    try:
        accounts.set_user_active(
            get_session(), user_id, active=True, address=client_address(), actor=_actor()
        )
    except accounts.AccountError:
        abort(404)
    flash(gettext("User reactivated."), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/unlock")
@require_roles(Role.ADMIN)
def unlock_user(user_id: int) -> ResponseReturnValue:
    try:
        accounts.unlock_user(get_session(), user_id, address=client_address(), actor=_actor())
    except accounts.AccountError:
        abort(404)
    flash(gettext("User unlocked: they can sign in again now."), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<id:user_id>/reset-two-factor")
@require_roles(Role.ADMIN)
def reset_two_factor(user_id: int) -> ResponseReturnValue:
    me = current_principal()
    if me is not None and me.kind == "user" and me.id == user_id:
        abort(409, "another administrator must reset your own second factor")
    try:
        accounts.reset_two_factor(get_session(), user_id, address=client_address(), actor=_actor())
    except accounts.AccountError:
        abort(404)
    flash(
        gettext(
            "Second factor removed and the user's sessions ended; they set up a new one at their"
            " next sign-in."
        ),
        "success",
    )
    return redirect(url_for("admin.users"))


def _render_tokens(
    form: CreateTokenForm, status: int = 200, new: accounts.NewToken | None = None
) -> ResponseReturnValue:
    with_pickers(form)
    return (
        render_template(
            "admin/tokens.html",
            tokens=accounts.tokens(get_session()),
            form=form,
            new=new,
            format_utc=accounts.format_utc,
        ),
        status,
        {"Cache-Control": "no-store"},  # a new token's secret must not stay in a cache
    )


@bp.get("/tokens")
@require_roles(Role.ADMIN)
def tokens() -> ResponseReturnValue:
    return _render_tokens(CreateTokenForm())


@bp.post("/tokens")
@require_roles(Role.ADMIN)
def create_token() -> ResponseReturnValue:
    form = CreateTokenForm()
    if not form.validate_on_submit() or not check_known(form):
        return _render_tokens(form, 422)
    try:
        new = accounts.create_token(
            get_session(),
            form.role.data,
            party=form.party.data or None,
            label=form.label.data or "",
            user=form.user.data or None,
            actor=_actor(),
            address=client_address(),
        )
    except accounts.AccountError as exc:
        _show_account_error(form, exc)
        return _render_tokens(form, 422)
    # Shown once, in this answer only; never stored or redirected through a URL.
    return _render_tokens(CreateTokenForm(formdata=None), 201, new)


@bp.post("/tokens/<id:token_id>/revoke")
@require_roles(Role.ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    try:
        accounts.revoke_token(get_session(), token_id, actor=_actor(), address=client_address())
    except accounts.AccountError:
        abort(404)
    flash(gettext("Token %(id)s revoked.", id=token_id), "success")
    return redirect(url_for("admin.tokens"))


@bp.get("/activity")
@require_roles(Role.ADMIN)
def activity() -> ResponseReturnValue:
    """The account audit trail, newest first: ``?username=`` (exact) and ``?event=``
    (a key of :data:`web.accounts.EVENT_LABELS`) filter it, ``?page=N`` pages it.
    An event that is not one of those answers 400 saying so."""
    username = request.args.get("username", "").strip()[:_MAX_FILTER]
    event = request.args.get("event", "").strip()
    if event and event not in accounts.EVENT_LABELS:
        raise BadParameter(
            "event",
            "event must be one of the events listed in the filter",
            gettext(
                "Event (event): %(value)s is not one of the events listed in the filter",
                value=repr(event[:_MAX_FILTER]),
            ),
        )
    db = get_session()
    pager = page_request()
    rows, total = accounts.account_events(
        db, username=username, event=event, offset=pager.offset, limit=pager.size
    )
    shown = pager.with_total(total)
    if shown.page != pager.page:  # past the last page: show the last one
        rows, total = accounts.account_events(
            db, username=username, event=event, offset=shown.offset, limit=shown.size
        )
    return render_template(
        "admin/activity.html",
        events=rows,
        pager=shown,
        username=username,
        event=event,
        event_labels=accounts.EVENT_LABELS,
    )
