"""Human names for how an order was attributed, its status and how its refunds counted
(statements, order pages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ATTRIBUTION_LABELS = {
    "coupon": _l("Coupon"),
    "ref_meta": _l("Your link (checkout)"),
    "utm": _l("Your link (visit)"),
    "binding": _l("Returning customer"),
    "pickup": _l("Collected at your pickup point"),
    "manual": _l("Assigned by the shop"),
}

ORDER_STATUS_LABELS = {
    "pending": _l("Awaiting payment"),
    "processing": _l("Processing"),
    "on-hold": _l("On hold"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
    "failed": _l("Failed"),
    "refunded": _l("Refunded"),
    "trash": _l("In the shop's trash"),
    "deleted": _l("Deleted in the shop"),
}

# How a shop refund reduced the goods commission is paid on (orders.services.RefundNote).
REFUND_RULES = {
    "lines": _l("the goods on the refund's own lines (tax and shipping not counted)"),
    "proportional": _l(
        "the refund had no lines: its amount × goods ÷ order total (the order's own share of goods)"
    ),
    "estimated": _l(
        "the refund's lines could not be read from the shop: its amount × goods ÷ order total"
    ),
}
