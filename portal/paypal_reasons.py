"""Why PayPal did not pay, as the distributor reads it: on the ground floor, because the
withdrawal pages and the notification texts both say it (and notifications must not
import the withdrawals package, which calls them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Why PayPal did not pay, as the distributor reads it (PayPal's errors.name of the item).
PAYPAL_REASONS = {
    "RECEIVER_UNREGISTERED": _l(
        "No PayPal account is registered to your payout address; add the address to a "
        "PayPal account or choose another payout account."
    ),
    "RECEIVER_UNCONFIRMED": _l("Your PayPal account's email address is not confirmed yet."),
    "RECEIVER_ACCOUNT_LOCKED": _l("Your PayPal account is locked or inactive."),
    "RECEIVER_ACCOUNT_LIMITED": _l("Your PayPal account is limited and cannot receive money."),
    "RECEIVING_LIMIT_EXCEEDED": _l("The payment is above what your PayPal account can receive."),
    "RECEIVER_COUNTRY_NOT_ALLOWED": _l("PayPal cannot pay accounts in your country from here."),
    "CURRENCY_NOT_SUPPORTED_FOR_RECEIVER": _l(
        "Your PayPal account does not accept payments in this currency."
    ),
    "RECEIVER_YOUTH_ACCOUNT": _l("PayPal does not allow payouts to youth accounts."),
    "REGULATORY_BLOCKED": _l("PayPal blocked the payment for regulatory reasons."),
    "RISK_DECLINE": _l("PayPal declined the payment after a risk check."),
}

# When PayPal gives no reason we know, the item's status says what happened.
PAYPAL_STATUS_REASONS = {
    "FAILED": _l("PayPal could not pay it."),
    "RETURNED": _l("The payment was not claimed within 30 days and PayPal returned it."),
    "BLOCKED": _l("PayPal blocked the payment."),
    "REFUNDED": _l("The payment was cancelled before it was claimed."),
    "REVERSED": _l("PayPal reversed the payment."),
}


def paypal_reason(status: str, code: str | None) -> str:
    """A sentence in the current language on why PayPal did not pay."""
    reason = PAYPAL_REASONS.get(code or "") or PAYPAL_STATUS_REASONS.get(status)
    return str(reason or PAYPAL_STATUS_REASONS["FAILED"])
