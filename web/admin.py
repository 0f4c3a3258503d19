"""Administration pages: users (list, create, deactivate). Devices and territories
pages belong to their packages' authors and register as ``admin.devices`` and
``admin.territories`` on their own blueprints' endpoints, see :mod:`web.nav`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from web import accounts
from web.db import get_session
from web.forms import CreateUserForm
from web.roles import Role
from web.security import current_principal, require_roles

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _render_users(form: CreateUserForm, status: int = 200) -> ResponseReturnValue:
    users = accounts.list_users(get_session())
    me = current_principal()
    return (
        render_template(
            "admin/users.html",
            users=users,
            form=form,
            my_id=None if me is None or me.kind != "user" else me.id,
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
    if not form.validate_on_submit():
        return _render_users(form, 422)
    try:
        accounts.create_user(
            get_session(),
            form.username.data,
            form.password.data,
            form.role.data,
            party=form.party.data or None,
            display_name=form.display_name.data or "",
        )
    except accounts.AccountError as exc:
        form.form_errors.append(str(exc))
        return _render_users(form, 422)
    flash(f"User {form.username.data.strip()} created.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/deactivate")
@require_roles(Role.ADMIN)
def deactivate_user(user_id: int) -> ResponseReturnValue:
    me = current_principal()
    if me is not None and me.kind == "user" and me.id == user_id:
        abort(409, "you cannot deactivate your own account")
    try:
        accounts.set_user_active(get_session(), user_id, active=False)
    except accounts.AccountError:
        abort(404)
    flash("User deactivated; their open sessions have ended.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reactivate")
@require_roles(Role.ADMIN)
def reactivate_user(user_id: int) -> ResponseReturnValue:
    try:
        accounts.set_user_active(get_session(), user_id, active=True)
    except accounts.AccountError:
        abort(404)
    flash("User reactivated.", "success")
    return redirect(url_for("admin.users"))
