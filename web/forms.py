"""HTML forms (Flask-WTF: each renders and checks a CSRF token).

One-button forms (sign out, deactivate, unlock) need no class: they carry
``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` and the
token is checked for every POST in :mod:`web.security`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from web.account.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from web.roles import Role

__all__ = [
    "ChangePasswordForm",
    "CodeForm",
    "CreateTokenForm",
    "CreateUserForm",
    "LoginForm",
    "PreferencesForm",
    "UserEmailForm",
]

_PASSWORD_LENGTH = Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    message=_l(
        "A password needs at least %(min)s characters (and at most %(max)s).",
        min=MIN_PASSWORD_LENGTH,
        max=MAX_PASSWORD_LENGTH,
    ),
)
_PASSWORD_HELP = _l(
    "At least %(min)s characters and hard to guess: several unusual words work well;"
    " your name, common passwords and patterns like 'aaaa' or '1234' do not.",
    min=MIN_PASSWORD_LENGTH,
)


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    submit = SubmitField(_l("Sign in"))


class CodeForm(FlaskForm):  # type: ignore[misc]
    """A 6-digit code from an authenticator app (sign-in and two-factor set-up)."""

    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("The code is 6 digits.")),
        ],
        description=_l("6 digits; a new one appears every 30 seconds."),
    )
    submit = SubmitField(_l("Continue"))


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), _PASSWORD_LENGTH],
        description=_PASSWORD_HELP,
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


def _role_field(label: str) -> SelectField:
    """The role a user or token is granted: no silent default, the first option is an
    empty "choose…" and submitting it is refused naming the field."""
    return SelectField(
        label,
        choices=[SelectChoice("", _l("choose…"))]
        + [SelectChoice(r.value, _l(r.label)) for r in Role],
        validators=[DataRequired(message=_l("Role: choose the role it is granted."))],
        default="",
    )


class CreateUserForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=200)])
    role = _role_field(_l("Role"))
    party = StringField(
        _l("Party code"),
        validators=[Optional(), Length(max=64)],
        description=_l("Required for distributors: the code of the party they act for."),
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), _PASSWORD_LENGTH],
        description=_PASSWORD_HELP,
    )
    submit = SubmitField(_l("Create user"))


class CreateTokenForm(FlaskForm):  # type: ignore[misc]
    role = _role_field(_l("Role"))
    party = StringField(
        _l("Party code"),
        validators=[Optional(), Length(max=64)],
        description=_l("Required for distributors: the party the token acts for."),
    )
    user = StringField(
        _l("User"),
        validators=[Optional(), Length(max=64)],
        description=_l(
            "The username the token acts as (same role and party). Leave empty for the"
            " service user of that role and party."
        ),
    )
    label = StringField(
        _l("Label"),
        validators=[Optional(), Length(max=200)],
        description=_l("What the token is for; a note only, it identifies no one."),
    )
    submit = SubmitField(_l("Create token"))


def _stripped(value: str | None) -> str | None:
    """What was typed without the spaces around it (a pasted address often has some)."""
    return value.strip() if isinstance(value, str) else value


class PreferencesForm(FlaskForm):  # type: ignore[misc]
    """Language and time zone of the signed-in user (choices set by the page)."""

    locale = SelectField(_l("Language"), validators=[DataRequired()])
    timezone = SelectField(
        _l("Time zone"),
        validators=[DataRequired()],
        description=_l("Pages show times in this zone; they are stored in UTC."),
    )
    email = StringField(
        _l("E-mail address"),
        filters=[_stripped],
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("Enter an e-mail address such as name@example.com.")),
        ],
        description=_l("Statements and confirmed alerts are sent here. Leave empty for none."),
    )
    submit = SubmitField(_l("Save"))


class UserEmailForm(FlaskForm):  # type: ignore[misc]
    """An administrator sets (or, empty, removes) a user's e-mail address."""

    email = StringField(
        _l("E-mail address"),
        filters=[_stripped],
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("Enter an e-mail address such as name@example.com.")),
        ],
    )
