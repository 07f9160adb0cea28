"""Words shown for withdrawal states and payout methods."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.withdrawals.models import PayoutMethod, WithdrawalState

STATE_LABELS = {
    WithdrawalState.REQUESTED: _l("Requested"),
    WithdrawalState.APPROVED: _l("Approved"),
    WithdrawalState.PAID: lazy_pgettext("withdrawal state", "Paid"),
    WithdrawalState.REJECTED: _l("Rejected"),
    WithdrawalState.REVERSED: _l("Reversed"),
}

METHOD_LABELS = {
    PayoutMethod.BANK: _l("Bank transfer"),
    PayoutMethod.PAYPAL: _l("PayPal"),
    PayoutMethod.ALIPAY: _l("Alipay"),
    PayoutMethod.WECHAT: _l("WeChat Pay"),
    PayoutMethod.STORE_CREDIT: _l("Store credit"),
}

# What the "account" field holds for each method.
ACCOUNT_LABELS = {
    PayoutMethod.BANK: _l("Account number or IBAN"),
    PayoutMethod.PAYPAL: _l("PayPal email or mobile number"),
    PayoutMethod.ALIPAY: _l("Alipay account (phone number or email)"),
    PayoutMethod.WECHAT: _l("WeChat ID"),
}

# PayPal's item transaction_status, as ops read it on the withdrawals page.
PAYPAL_STATUS_LABELS = {
    "SENDING": _l("PayPal: sending"),
    "REFUSED": _l("PayPal: refused, not paid"),
    "DENIED": _l("PayPal: batch denied, not paid"),
    "PENDING": _l("PayPal: pending"),
    "SUCCESS": _l("PayPal: paid"),
    "FAILED": _l("PayPal: failed"),
    "UNCLAIMED": _l("PayPal: unclaimed"),
    "RETURNED": _l("PayPal: returned"),
    "ONHOLD": _l("PayPal: on hold"),
    "BLOCKED": _l("PayPal: blocked"),
    "REFUNDED": _l("PayPal: refunded"),
    "REVERSED": _l("PayPal: reversed"),
}
