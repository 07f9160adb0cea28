"""Typed access to settings: every setting is declared once with its default.

Reading never writes; a setting that was never changed returns its declared default, so a
fresh database needs no seed rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from portal import crypto, i18n
from portal.accounts.models import User
from portal.audit import services as audit
from portal.extensions import db
from portal.i18n import SUPPORTED_LOCALES
from portal.settings.models import Setting

# apply: the approval queue; open: approved at once; every_buyer (人人分销) and
# spend_threshold (满额分销): buyers become distributors (portal.distributors.recruitment).
RECRUITMENT_MODES = ("apply", "open", "every_buyer", "spend_threshold")


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: type
    default: Any
    label: Any
    help: Any = ""
    choices: tuple[Any, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # Stored encrypted (portal.crypto), never shown back on a page nor in the audit log.
    secret: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, Decimal) and not value.is_finite():
            return False
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            return False
        if self.choices and value not in self.choices:
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        return not (self.maximum is not None and value > self.maximum)


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "recruitment_mode",
            str,
            "apply",
            _l("How people become distributors"),
            _l(
                "Every buyer and spend threshold: a periodic job makes buyers distributors "
                "and emails them an invitation; the join page still takes applications for "
                "review."
            ),
            RECRUITMENT_MODES,
        ),
        SettingSpec(
            "recruitment_threshold",
            Decimal,
            Decimal("100"),
            _l("Spend that makes a buyer a distributor"),
            _l(
                "For the spend threshold mode: paid orders in the shop currency, net of "
                "refunds, added up over all time."
            ),
            minimum=0,
        ),
        SettingSpec(
            "recruitment_terms",
            str,
            "",
            _l("Distributor terms"),
            _l(
                "Shown on the join page with a checkbox applicants must tick (Markdown). "
                "Empty: no checkbox."
            ),
        ),
        SettingSpec(
            "default_locale",
            str,
            "en",
            _l("Default language"),
            _l("Used when neither the user's profile nor the browser names a language."),
            SUPPORTED_LOCALES,
        ),
        SettingSpec(
            "currency",
            str,
            "USD",
            _l("Shop currency"),
            _l("ISO 4217 code. Orders in another currency are held for review, never converted."),
        ),
        SettingSpec(
            "return_window_days",
            int,
            7,
            _l("Return window (days)"),
            _l("Commission on a completed order becomes available after this many days."),
            minimum=0,
            maximum=365,
        ),
        SettingSpec(
            "max_depth",
            int,
            3,
            _l("Maximum commission depth"),
            _l("1 = single-level; up to 3 levels of team commission."),
            choices=(1, 2, 3),
        ),
        SettingSpec(
            "binding_days",
            int,
            30,
            _l("Customer binding (days)"),
            _l(
                "A referred customer's later orders go to the same distributor for this many "
                "days, even without a link or coupon. 0 turns binding off."
            ),
            minimum=0,
            maximum=3650,
        ),
        SettingSpec(
            "min_withdrawal",
            Decimal,
            Decimal("10"),
            _l("Minimum withdrawal"),
            _l("The smallest amount a distributor can ask to withdraw, in the shop currency."),
            minimum=0,
        ),
        SettingSpec(
            "withdrawal_fee_percent",
            Decimal,
            Decimal("0"),
            _l("Withdrawal fee (%)"),
            _l("Deducted from each withdrawal, e.g. to cover transfer costs."),
            minimum=0,
            maximum=100,
        ),
        SettingSpec(
            "withdrawal_fee_fixed",
            Decimal,
            Decimal("0"),
            _l("Withdrawal fee (fixed)"),
            _l("A fixed amount deducted from each withdrawal, on top of the percentage."),
            minimum=0,
        ),
        SettingSpec(
            "withdrawal_daily_limit",
            Decimal,
            Decimal("0"),
            _l("Daily withdrawal limit per distributor"),
            _l("The most one distributor can request per day (UTC). 0 means no limit."),
            minimum=0,
        ),
        SettingSpec(
            "withdrawal_auto_approve_below",
            Decimal,
            Decimal("0"),
            _l("Approve withdrawals automatically up to"),
            _l(
                "Requests up to this amount skip manual approval (they still need paying)."
                " 0 turns it off."
            ),
            minimum=0,
        ),
        SettingSpec(
            "adjustment_approval_above",
            Decimal,
            Decimal("1000"),
            _l("Manual adjustments above this need a second staff member"),
            _l(
                "In the shop currency, either sign. Above it an adjustment waits until another "
                "staff member approves it (never the one who asked); 0: every adjustment does."
            ),
            minimum=0,
        ),
        SettingSpec(
            "adjustment_limit_ops",
            Decimal,
            Decimal("10000"),
            _l("Largest manual adjustment ops can make"),
            _l(
                "Per adjustment, either sign, in the shop currency: ops can neither ask for "
                "nor approve more. Admins are not bound by it."
            ),
            minimum=0,
        ),
        SettingSpec(
            "risk_self_purchase",
            bool,
            True,
            _l("Review orders distributors place for themselves"),
            _l("The buyer's email or shop customer id is the distributor's."),
        ),
        SettingSpec(
            "risk_same_device",
            str,
            "ip",
            _l("Review orders from the distributor's own devices"),
            _l(
                "Compare the buyer with where the distributor signs in from. Browsers alone "
                "are shared by millions of phones, so matching them is stricter and noisier."
            ),
            ("ip", "ip_or_ua", "off"),
        ),
        SettingSpec(
            "risk_team_loop",
            bool,
            True,
            _l("Review orders bought inside the team"),
            _l("The buyer is a distributor up to three levels above or below the seller."),
        ),
        SettingSpec(
            "risk_velocity_per_hour",
            int,
            0,
            _l("Review above this many orders per hour"),
            _l(
                "Orders attributed to one distributor within an hour. 0 (the default) turns "
                "it off: a group leader's post can bring dozens of honest orders at once."
            ),
            minimum=0,
            maximum=100000,
        ),
        SettingSpec(
            "risk_large_order",
            Decimal,
            Decimal("0"),
            _l("Review orders above"),
            _l("Goods total of one order, in the shop currency. 0 turns it off."),
            minimum=0,
        ),
        SettingSpec(
            "shop_paid_statuses",
            str,
            "",
            _l("Custom order statuses that count as paid"),
            _l(
                "Comma-separated slugs of statuses a shop plugin adds (e.g. shipped). Orders "
                "in them earn like processing orders."
            ),
        ),
        SettingSpec(
            "shop_ignored_statuses",
            str,
            "",
            _l("Custom order statuses that are not orders"),
            _l(
                "Comma-separated slugs (e.g. quote). Drafts (checkout-draft, draft, "
                "auto-draft) are never orders. A delivery in a status named in neither list "
                "waits on the Shop page until you add it here and replay it."
            ),
        ),
        SettingSpec(
            "self_purchase",
            str,
            "uplines_only",
            _l("Distributor's own orders"),
            _l("Who earns when distributors buy through their own link or coupon."),
            choices=("uplines_only", "everyone", "nobody"),
        ),
        SettingSpec(
            "legal_name",
            str,
            "",
            _l("Legal name of the programme"),
            _l("The company that pays commission, printed on every statement."),
        ),
        SettingSpec(
            "legal_address",
            str,
            "",
            _l("Legal address"),
            _l("Printed under the legal name on every statement."),
        ),
        SettingSpec(
            "shop_name",
            str,
            "",
            _l("Shop name on posters"),
            _l("Printed on share cards and posters. Empty: none."),
        ),
        SettingSpec(
            "shop_logo",
            str,
            "",
            _l("Shop logo on posters"),
            _l("Uploaded on the Posters page; printed on share cards and posters."),
        ),
        SettingSpec(
            "alipay_payer_account",
            str,
            "",
            _l("Alipay account that pays"),
            _l(
                "The email or phone number of the shop's Alipay business account, written "
                "at the top of the Alipay batch file."
            ),
        ),
        SettingSpec(
            "alipay_payer_name",
            str,
            "",
            _l("Name of the Alipay account that pays"),
            _l("The account's registered name (账户名称), as Alipay shows it."),
        ),
        SettingSpec(
            "paypal_client_id",
            str,
            "",
            _l("PayPal client ID"),
            _l(
                "Of the REST API app in the PayPal developer dashboard (Apps & Credentials) "
                "that has Payouts enabled. Empty: withdrawals are not sent through PayPal."
            ),
        ),
        SettingSpec(
            "paypal_client_secret",
            str,
            "",
            _l("PayPal secret"),
            _l("The app's secret. Stored encrypted; leave empty to keep the stored one."),
            secret=True,
        ),
        SettingSpec(
            "paypal_webhook_id",
            str,
            "",
            _l("PayPal webhook ID"),
            _l(
                "The ID PayPal gives the webhook you add for the portal's /paypal/webhook "
                "address (events PAYMENT.PAYOUTS-ITEM.* and PAYMENT.PAYOUTSBATCH.*). Empty: "
                "payouts are only checked every few minutes."
            ),
        ),
        SettingSpec(
            "paypal_sandbox",
            bool,
            True,
            _l("Use the PayPal sandbox"),
            _l("Test money only (api-m.sandbox.paypal.com). Untick to pay for real."),
        ),
        SettingSpec(
            "store_credit_enabled",
            bool,
            False,
            _l("Distributors may take store credit"),
            _l(
                "A withdrawal can be taken, wholly or in part, as a coupon for the shop, "
                "usable once by the distributor's own email. Needs the shop's REST keys."
            ),
        ),
        SettingSpec(
            "store_credit_bonus_percent",
            Decimal,
            Decimal("0"),
            _l("Store credit bonus (%)"),
            _l("Added to the part taken as store credit, e.g. 10 gives 110.00 for 100.00."),
            minimum=0,
            maximum=100,
        ),
        SettingSpec(
            "leader_rounds",
            bool,
            False,
            _l("Group leaders open their own group-buy rounds"),
            _l(
                "A group leader with an approved pickup point can open a round of catalogue "
                "products with a deadline for their own group. When off, only staff do."
            ),
        ),
        SettingSpec(
            "pickup_matures_on_handover",
            bool,
            False,
            _l("Pickup orders mature from the hand-over"),
            _l(
                "Commission on an order collected at a leader's pickup point becomes "
                "available a return window after the leader marks it handed over, instead "
                "of after the shop marks it completed."
            ),
        ),
        SettingSpec(
            "coupon_self_issue",
            bool,
            False,
            _l("Distributors issue their own coupon"),
            _l(
                "An active distributor without a coupon can create one on their Share page, "
                "with the discount and limits below. When off, only staff issue coupons."
            ),
        ),
        SettingSpec(
            "coupon_percent",
            Decimal,
            Decimal("10"),
            _l("Coupon discount (%)"),
            _l("The discount of a coupon a distributor issues themselves."),
            minimum=0,
            maximum=100,
        ),
        SettingSpec(
            "coupon_usage_limit",
            int,
            0,
            _l("Coupon uses in all"),
            _l("How many times the coupon can be used, by everyone together. 0 means no limit."),
            minimum=0,
            maximum=1000000,
        ),
        SettingSpec(
            "coupon_usage_limit_per_user",
            int,
            0,
            _l("Coupon uses per customer"),
            _l("How many times one customer can use it. 0 means no limit."),
            minimum=0,
            maximum=1000000,
        ),
        SettingSpec(
            "coupon_valid_days",
            int,
            0,
            _l("Coupon valid for (days)"),
            _l("The coupon expires this many days after it is issued. 0 means it never does."),
            minimum=0,
            maximum=3650,
        ),
    )
}


_SECRET_INFO = b"portal settings secret v1"
HIDDEN = "(hidden)"  # what the audit log records for a secret's values


def _load(spec: SettingSpec, stored: Any) -> Any:
    if spec.secret:
        try:
            return crypto.decrypt(stored, _SECRET_INFO) if stored else ""
        except crypto.InvalidToken:  # SECRET_KEY changed since: as good as not set
            return ""
    # JSON has no decimals: money settings are stored as strings.
    return Decimal(stored) if spec.kind is Decimal else stored


def _dump(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _store(spec: SettingSpec, value: Any) -> Any:
    if spec.secret:
        return crypto.encrypt(value, _SECRET_INFO) if value else ""
    return _dump(value)


_LOADED = object()  # the cache's mark: every setting of SPECS is in it


def get(key: str) -> Any:
    """The setting's value. The first call in a database session reads every setting in
    one query (a page asks for several and formats many amounts; the session ends with
    each request and each job)."""
    cache = db.session.info.setdefault("settings", {})
    if _LOADED not in cache:
        stored = dict(
            db.session.execute(
                db.select(Setting.key, Setting.value).where(Setting.key.in_(SPECS))
            ).all()
        )
        for name, spec in SPECS.items():
            if name not in cache:
                cache[name] = _load(spec, stored[name]) if name in stored else spec.default
        cache[_LOADED] = True
    return cache[key]


def all_values() -> dict[str, Any]:
    stored = {row.key: row.value for row in db.session.scalars(db.select(Setting))}
    return {
        key: _load(spec, stored[key]) if key in stored else spec.default
        for key, spec in SPECS.items()
    }


def update(values: dict[str, Any], actor: User | None) -> list[str]:
    """Store changed settings with one audit entry each (``actor`` None: the system);
    return the keys that changed.

    The caller commits, so the change and its audit entries land together.
    """
    changed = []
    for key, new in values.items():
        spec = SPECS[key]
        if not spec.accepts(new):
            raise ValueError(f"invalid value for setting {key}: {new!r}")
        old = get(key)
        if old == new:
            continue
        db.session.info.pop("settings", None)
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=_store(spec, new)))
        else:
            row.value = _store(spec, new)
        before, after = (HIDDEN, HIDDEN) if spec.secret else (_dump(old), _dump(new))
        audit.record(actor, "setting.update", "setting", key, {"value": before}, {"value": after})
        changed.append(key)
    return changed


def install() -> None:
    """Pages and emails fall back to the shop's default language, kept here."""
    i18n.DEFAULT_SOURCE[:] = [lambda: get("default_locale")]
