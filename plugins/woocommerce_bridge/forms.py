"""The Shop page's forms: connecting the shop, issuing personal coupons (one, or many)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from portal.distributors.coupons import Terms
from portal.forms import Form, strip
from portal.timeutil import utcnow

# WooCommerce's keys: ck_/cs_ and 40 hex digits; anything printable without spaces is let
# through (a shop may issue others), NUL bytes and spaces are not.
_PRINTABLE = r"[\x21-\x7e]{1,125}"


def _control(ch: str) -> bool:
    return ord(ch) < 32 or ord(ch) == 127


def _visible(form: Any, field: Any) -> None:
    """Control characters (a NUL byte…) are refused, and not shown back in the page."""
    value = field.data or ""
    if any(_control(ch) for ch in value):
        field.data = "".join(ch for ch in value if not _control(ch))
        field.raw_data = [field.data]
        raise StopValidation(_l("Remove the control characters (e.g. a NUL byte) from this."))


def _address(form: Any, field: Any) -> None:
    parts = urlsplit(field.data or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_l("Enter the shop's address, starting with https:// or http://."))
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError(_l("Enter only the shop's address: no user name, ? or #."))
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number)
    except ValueError:
        raise ValidationError(_l("The port in the address is not a number.")) from None


def _unless_kept(form: Any, field: Any) -> None:
    """Required, unless keys are stored already (then empty keeps them)."""
    if not field.data:
        if form.keys_kept:
            raise StopValidation()
        raise StopValidation(_l("Copy it from WooCommerce → Settings → Advanced → REST API."))


def _trailing_slash(value: str | None) -> str | None:
    return value.rstrip("/") if isinstance(value, str) else value


class ConnectForm(Form):
    """The shop's address and REST keys. The secret is never put back into the page."""

    keys_kept = False  # set by the view: stored keys exist

    store_url = StringField(
        _l("Shop address"),
        validators=[_visible, DataRequired(), Length(max=255), _address],
        filters=[strip, _trailing_slash],
        description=_l("The WordPress site's address, e.g. https://shop.example.com"),
    )
    consumer_key = StringField(
        _l("Consumer key"),
        validators=[
            _visible,
            _unless_kept,
            Length(max=128),
            Regexp(
                rf"^ck_{_PRINTABLE}$",
                message=_l("A consumer key starts with ck_ and has no spaces."),
            ),
        ],
        filters=[strip],
    )
    consumer_secret = PasswordField(
        _l("Consumer secret"),
        validators=[
            _visible,
            _unless_kept,
            Length(max=128),
            Regexp(
                rf"^cs_{_PRINTABLE}$",
                message=_l("A consumer secret starts with cs_ and has no spaces."),
            ),
        ],
        filters=[strip],
    )


class CouponTermsForm(Form):
    """A coupon's discount, limits and last day (empty: none)."""

    percent = DecimalField(
        _l("Discount %"),
        places=None,
        default=Decimal("10"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=100)],
    )
    usage_limit = IntegerField(
        _l("Uses in all"), validators=[Optional(), NumberRange(min=1, max=1000000)]
    )
    usage_limit_per_user = IntegerField(
        _l("Uses per customer"), validators=[Optional(), NumberRange(min=1, max=1000000)]
    )
    valid_until = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("The last day it can be used (UTC). Empty: it never expires."),
    )

    def validate_valid_until(self, field: Any) -> None:
        if field.data is not None and field.data < utcnow().date():
            raise ValidationError(_l("Choose today or a later day."))

    def terms(self) -> Terms:
        until = self.valid_until.data
        return Terms(
            percent=self.percent.data,
            usage_limit=self.usage_limit.data,
            usage_limit_per_user=self.usage_limit_per_user.data,
            expires_at=(
                datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
            ),
        )


class CouponForm(CouponTermsForm):
    code = StringField(
        _l("Distributor code"), validators=[DataRequired(), Length(max=8)], filters=[strip]
    )


def _codes(value: str | None) -> list[str]:
    """``ab12cd, EF34GH`` (commas, spaces or lines) → ``["AB12CD", "EF34GH"]``."""
    if not isinstance(value, str):
        return []
    return list(dict.fromkeys(code.upper() for code in re.split(r"[\s,;]+", value) if code))


class BulkCouponForm(CouponTermsForm):
    codes = TextAreaField(
        _l("Distributor codes"),
        description=_l("Separated by commas, spaces or lines."),
        validators=[Length(max=20000)],
    )
    everyone = BooleanField(_l("Every active distributor without a coupon"))

    def validate_codes(self, field: Any) -> None:
        if not self.everyone.data and not _codes(field.data):
            raise ValidationError(_l("Give distributor codes, or choose every active one."))

    def code_list(self) -> list[str]:
        return _codes(self.codes.data)
