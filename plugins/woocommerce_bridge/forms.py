"""The Shop page's forms: connecting the shop, issuing a personal coupon."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Regexp,
    StopValidation,
    ValidationError,
)

from portal.forms import Form, strip

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


class CouponForm(Form):
    code = StringField(
        _l("Distributor code"), validators=[DataRequired(), Length(max=8)], filters=[strip]
    )
    percent = DecimalField(
        _l("Discount %"),
        places=None,
        default=Decimal("10"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=100)],
    )
