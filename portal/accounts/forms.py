"""Login and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Form, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.accounts.services import MIN_PASSWORD_LENGTH
from portal.forms import strip


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=[strip]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Keep me signed in"))


class _EmailOnly(Form):
    """The login form's email field alone (no CSRF, no request: for the CLI)."""

    email = LoginForm.email


def email_errors(email: str) -> list[str]:
    """Why the login form would refuse this email; empty when it takes it (so an
    account made elsewhere can always sign in)."""
    form = _EmailOnly(data={"email": email})
    form.validate()
    return [str(error) for error in form.email.errors]


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)]
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords do not match."))],
    )
