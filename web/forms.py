"""HTML forms. Each carries a CSRF token (Flask-WTF), including one-button forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from web.accounts import MIN_PASSWORD_LENGTH
from web.roles import Role

__all__ = ["ButtonForm", "CreateUserForm", "LoginForm"]


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


class ButtonForm(FlaskForm):  # type: ignore[misc]
    """A form that is only a button (sign out, deactivate): it exists for its CSRF token."""
