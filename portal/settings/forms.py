"""The settings form (one field per setting in :data:`portal.settings.services.SPECS`)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from portal.forms import Form, PlainDecimalField, strip
from portal.i18n import LOCALE_NAMES, SUPPORTED_LOCALES
from portal.settings.services import SPECS

TERMS_MAX_LENGTH = 20000

SELF_PURCHASE_LABELS = {
    "uplines_only": _l("The buyer earns nothing; their uplines earn"),
    "everyone": _l("Everyone earns as usual"),
    "nobody": _l("Nobody earns on the order"),
}


def _spec(key: str) -> dict[str, object]:
    return {"label": SPECS[key].label, "description": SPECS[key].help}


def _slugs(value: str | None) -> str | None:
    """``Shipped, wc-quote`` → ``shipped,quote``."""
    if not isinstance(value, str):
        return value
    names = (name.strip().lower().removeprefix("wc-") for name in value.split(","))
    return ",".join(name for name in names if name)


STATUS_SLUGS = Regexp(
    r"^([a-z0-9_-]{1,20}(,[a-z0-9_-]{1,20})*)?$",
    message=_l("Status slugs of letters, digits, - and _ (up to 20 each), separated by commas."),
)


# PayPal's client ids, secrets and webhook ids: letters, digits, - and _.
PAYPAL_KEY = Regexp(
    r"^[A-Za-z0-9_-]*$", message=_l("Paste it as PayPal shows it: letters, digits, - and _.")
)


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else value


RECRUITMENT_MODE_LABELS = {
    "apply": _l("Apply and approval: staff review each application"),
    "open": _l("Open: applications are approved at once"),
    "every_buyer": _l("Every buyer: a customer's first paid order makes them a distributor"),
    "spend_threshold": _l("Spend threshold: buyers become distributors after spending enough"),
}


class SettingsForm(Form):
    """Admin only. The recruitment terms are on their own page (:class:`TermsForm`),
    which ops may edit too."""

    recruitment_mode = SelectField(
        choices=[SelectChoice(k, v) for k, v in RECRUITMENT_MODE_LABELS.items()],
        **_spec("recruitment_mode"),
    )
    recruitment_threshold = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("recruitment_threshold"),
    )
    default_locale = SelectField(
        choices=[SelectChoice(code, LOCALE_NAMES[code]) for code in SUPPORTED_LOCALES],
        **_spec("default_locale"),
    )
    currency = StringField(
        validators=[
            DataRequired(),
            Regexp(r"^[A-Z]{3}$", message=_l("Use a three-letter ISO 4217 code, e.g. CNY.")),
        ],
        filters=[_upper],
        **_spec("currency"),
    )
    return_window_days = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=365)], **_spec("return_window_days")
    )
    binding_days = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=3650)], **_spec("binding_days")
    )
    max_depth = SelectField(
        coerce=int,
        choices=[SelectChoice(str(n), str(n)) for n in SPECS["max_depth"].choices],
        **_spec("max_depth"),
    )
    min_withdrawal = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000)],
        **_spec("min_withdrawal"),
    )
    withdrawal_fee_percent = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        **_spec("withdrawal_fee_percent"),
    )
    withdrawal_fee_fixed = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000)],
        **_spec("withdrawal_fee_fixed"),
    )
    withdrawal_daily_limit = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("withdrawal_daily_limit"),
    )
    withdrawal_auto_approve_below = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("withdrawal_auto_approve_below"),
    )
    adjustment_approval_above = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("adjustment_approval_above"),
    )
    adjustment_limit_ops = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("adjustment_limit_ops"),
    )
    risk_self_purchase = BooleanField(**_spec("risk_self_purchase"))
    risk_same_device = SelectField(
        choices=[
            SelectChoice("ip", _l("Same address")),
            SelectChoice("ip_or_ua", _l("Same address or same browser")),
            SelectChoice("off", _l("Off")),
        ],
        **_spec("risk_same_device"),
    )
    risk_team_loop = BooleanField(**_spec("risk_team_loop"))
    risk_velocity_per_hour = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=100000)],
        **_spec("risk_velocity_per_hour"),
    )
    risk_large_order = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=1000000000)],
        **_spec("risk_large_order"),
    )
    self_purchase = SelectField(
        choices=[SelectChoice(k, v) for k, v in SELF_PURCHASE_LABELS.items()],
        **_spec("self_purchase"),
    )
    store_credit_enabled = BooleanField(**_spec("store_credit_enabled"))
    store_credit_bonus_percent = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        **_spec("store_credit_bonus_percent"),
    )
    leader_rounds = BooleanField(**_spec("leader_rounds"))
    pickup_matures_on_handover = BooleanField(**_spec("pickup_matures_on_handover"))
    coupon_self_issue = BooleanField(**_spec("coupon_self_issue"))
    coupon_percent = PlainDecimalField(
        places=None,
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=100)],
        **_spec("coupon_percent"),
    )
    coupon_usage_limit = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=1000000)],
        **_spec("coupon_usage_limit"),
    )
    coupon_usage_limit_per_user = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=1000000)],
        **_spec("coupon_usage_limit_per_user"),
    )
    coupon_valid_days = IntegerField(
        validators=[InputRequired(), NumberRange(min=0, max=3650)], **_spec("coupon_valid_days")
    )
    legal_name = StringField(validators=[Length(max=200)], filters=[strip], **_spec("legal_name"))
    legal_address = StringField(
        validators=[Length(max=300)], filters=[strip], **_spec("legal_address")
    )
    alipay_payer_account = StringField(
        validators=[Length(max=100)], filters=[strip], **_spec("alipay_payer_account")
    )
    alipay_payer_name = StringField(
        validators=[Length(max=100)], filters=[strip], **_spec("alipay_payer_name")
    )
    paypal_client_id = StringField(
        validators=[Length(max=200), PAYPAL_KEY], filters=[strip], **_spec("paypal_client_id")
    )
    # Never rendered back (PasswordField): empty keeps the stored secret.
    paypal_client_secret = PasswordField(
        validators=[Length(max=200), PAYPAL_KEY], filters=[strip], **_spec("paypal_client_secret")
    )
    paypal_webhook_id = StringField(
        validators=[Length(max=64), PAYPAL_KEY], filters=[strip], **_spec("paypal_webhook_id")
    )
    paypal_sandbox = BooleanField(**_spec("paypal_sandbox"))
    shop_paid_statuses = StringField(
        validators=[Length(max=500), STATUS_SLUGS], filters=[_slugs], **_spec("shop_paid_statuses")
    )
    shop_ignored_statuses = StringField(
        validators=[Length(max=500), STATUS_SLUGS],
        filters=[_slugs],
        **_spec("shop_ignored_statuses"),
    )

    def values(self) -> dict[str, object]:
        return {
            name: self[name].data
            for name in SPECS
            if name in self and not (SPECS[name].secret and not self[name].data)
        }


class TermsForm(Form):
    recruitment_terms = TextAreaField(
        validators=[Length(max=TERMS_MAX_LENGTH)], filters=[strip], **_spec("recruitment_terms")
    )

    def values(self) -> dict[str, object]:
        return {"recruitment_terms": self.recruitment_terms.data or ""}
