"""Sign-in, password, session and staff forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField
from wtforms import Form as PlainForm
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.accounts.models import Role
from portal.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from portal.forms import Form, strip


def email_field() -> EmailField:
    return EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=[strip]
    )


def new_password_field(label: str = _l("New password")) -> PasswordField:
    """A password being chosen; the rest of the policy (common passwords, own email or
    name) is the service's, so it reads the same from every form and the CLI."""
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        ],
    )


def confirm_field(other: str, label: str = _l("Repeat new password")) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), EqualTo(other, message=_l("Passwords do not match."))],
    )


class LoginForm(Form):
    email = email_field()
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField(_l("Keep me signed in"))


class _EmailOnly(PlainForm):
    """The login form's email field alone (no CSRF, no request: for the CLI)."""

    email = LoginForm.email


def email_errors(email: str) -> list[str]:
    """Why the login form would refuse this email; empty when it takes it (so an
    account made elsewhere can always sign in)."""
    form = _EmailOnly(data={"email": email})
    form.validate()
    return [str(error) for error in form.email.errors]


class PasswordChangeForm(Form):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = new_password_field()
    confirm = confirm_field("new_password")


class ForgotForm(Form):
    email = email_field()


class SetPasswordForm(Form):
    """Reset and invitation links: choose a password."""

    password = new_password_field()
    confirm = confirm_field("password")


class ConfirmForm(Form):
    """A button with nothing but the CSRF token: sign out everywhere, unlock."""


class StaffInviteForm(Form):
    email = email_field()
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.OPS.value, _l("Ops")),
            SelectChoice(Role.ADMIN.value, _l("Admin")),
        ],
        default=Role.OPS.value,
        validators=[DataRequired()],
    )
