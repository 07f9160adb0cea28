"""Recruitment and review forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portal.accounts.services import MIN_PASSWORD_LENGTH
from portal.distributors.labels import ROLE_LABELS
from portal.distributors.models import DistributorRole
from portal.forms import strip


def _role_field() -> SelectField:
    return SelectField(
        _l("I want to join as"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        default=DistributorRole.AFFILIATE.value,
        validators=[DataRequired()],
    )


class _DistributorFields(FlaskForm):
    display_name = StringField(
        _l("Name shown to your team"),
        validators=[DataRequired(), Length(min=2, max=80)],
        filters=[strip],
    )
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=[strip]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)]
    )
    role = _role_field()


class ApplicationForm(_DistributorFields):
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))],
    )
    note = TextAreaField(
        _l("How will you promote the shop? (optional)"), validators=[Optional(), Length(max=1000)]
    )


class AdminAddForm(_DistributorFields):
    level_id = SelectField(_l("Level"), coerce=int, validators=[Optional()])
    parent_code = StringField(
        _l("Upline referral code (optional)"),
        validators=[Optional(), Length(max=8)],
        filters=[strip],
    )


class ReviewForm(FlaskForm):
    reason = StringField(
        _l("Reason (shown to the applicant)"), validators=[Optional(), Length(max=500)]
    )
