"""Recruitment and review forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.accounts.forms import confirm_field, email_field, new_password_field
from portal.distributors.labels import ROLE_LABELS
from portal.distributors.models import DistributorRole
from portal.forms import Form, strip


def _role_field() -> SelectField:
    return SelectField(
        _l("I want to join as"),
        choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()],
        default=DistributorRole.AFFILIATE.value,
        validators=[DataRequired()],
    )


class _DistributorFields(Form):
    display_name = StringField(
        _l("Name shown to your team"),
        validators=[DataRequired(), Length(min=2, max=80)],
        filters=[strip],
    )
    email = email_field()
    role = _role_field()


class ApplicationForm(_DistributorFields):
    password = new_password_field(_l("Password"))
    confirm = confirm_field("password", _l("Repeat password"))
    note = TextAreaField(
        _l("How will you promote the shop? (optional)"), validators=[Optional(), Length(max=1000)]
    )
    accept_terms = BooleanField(_l("I have read and accept the distributor terms"))
    # The fingerprint of the terms shown, so what was accepted is what was read.
    terms_version = HiddenField()

    def __init__(self, *args: Any, terms_version: str | None = None, **kwargs: Any) -> None:
        """``terms_version``: the current terms' (``None``: no terms, no checkbox)."""
        super().__init__(*args, **kwargs)
        if terms_version is None:
            del self.accept_terms
            del self.terms_version
            return
        self.accept_terms.validators = [
            DataRequired(message=_l("Accept the terms to become a distributor."))
        ]
        self.accept_terms.flags.required = True
        if not self.is_submitted():
            self.terms_version.data = terms_version


class ShopJoinForm(ApplicationForm):
    """Joining with the shop account: the email is the shop's and there is no password
    (they sign in through the shop)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.email
        del self.password
        del self.confirm


class ShopConnectForm(Form):
    password = PasswordField(_l("Your portal password"), validators=[DataRequired()])


class AdminAddForm(_DistributorFields):
    level_id = SelectField(_l("Level"), coerce=int, validators=[Optional()])
    parent_code = StringField(
        _l("Upline referral code (optional)"),
        validators=[Optional(), Length(max=8)],
        filters=[strip],
    )


class ReviewForm(Form):
    reason = StringField(
        _l("Reason (shown to the applicant)"), validators=[Optional(), Length(max=500)]
    )


class AdjustmentDecisionForm(Form):
    """CSRF, and the reason a rejection needs."""

    note = StringField(validators=[Optional(), Length(max=500)], filters=[strip])
