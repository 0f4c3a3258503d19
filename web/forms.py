"""HTML forms (Flask-WTF: each renders and checks a CSRF token).

One-button forms (sign out, deactivate) need no class: they carry
``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`` and the
token is checked for every POST in :mod:`web.security`.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from web.accounts import MIN_PASSWORD_LENGTH
from web.roles import Role

__all__ = ["CreateUserForm", "LoginForm"]


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


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
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    submit = SubmitField("Create user")
