"""HTML forms (Flask-WTF: each renders and checks a CSRF token).

One-button forms (sign out, deactivate, unlock) need no class: they carry
``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` and the
token is checked for every POST in :mod:`web.security`.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from web.account.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from web.roles import Role

__all__ = [
    "ChangePasswordForm",
    "CodeForm",
    "CreateTokenForm",
    "CreateUserForm",
    "LoginForm",
]

_PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    message=f"A password needs at least {MIN_PASSWORD_LENGTH} characters"
    f" (and at most {MAX_PASSWORD_LENGTH}).",
)
_PASSWORD_HELP = (
    f"At least {MIN_PASSWORD_LENGTH} characters and hard to guess: several unusual words"
    " work well; your name, common passwords and patterns like 'aaaa' or '1234' do not."
)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    submit = SubmitField("Sign in")


class CodeForm(FlaskForm):  # type: ignore[misc]
    """A 6-digit code from an authenticator app (sign-in and two-factor set-up)."""

    code = StringField(
        "Code from your authenticator app",
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="The code is 6 digits."),
        ],
        description="6 digits; a new one appears every 30 seconds.",
    )
    submit = SubmitField("Continue")


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new = PasswordField(
        "New password",
        validators=[DataRequired(), _PASSWORD_LENGTH],
        description=_PASSWORD_HELP,
    )
    repeat = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )
    submit = SubmitField("Change password")


class CreateUserForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    display_name = StringField("Display name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role])
    party = StringField(
        "Party code",
        validators=[Optional(), Length(max=64)],
        description="Required for distributors: the code of the party they act for.",
    )
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), _PASSWORD_LENGTH],
        description=_PASSWORD_HELP,
    )
    submit = SubmitField("Create user")


class CreateTokenForm(FlaskForm):  # type: ignore[misc]
    role = SelectField("Role", choices=[SelectChoice(r.value, r.label) for r in Role])
    party = StringField(
        "Party code",
        validators=[Optional(), Length(max=64)],
        description="Required for distributors: the party the token acts for.",
    )
    user = StringField(
        "User",
        validators=[Optional(), Length(max=64)],
        description=(
            "The username the token acts as (same role and party). Leave empty for the"
            " service user of that role and party."
        ),
    )
    label = StringField(
        "Label",
        validators=[Optional(), Length(max=200)],
        description="What the token is for; a note only, it identifies no one.",
    )
    submit = SubmitField("Create token")
