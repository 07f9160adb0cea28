"""Human names for how an order was attributed, its status and how its refunds counted
(statements, order pages)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ATTRIBUTION_LABELS = {
    "coupon": _l("Coupon"),
    "ref_meta": _l("Your link (checkout)"),
    "utm": _l("Your link (visit)"),
    "binding": _l("Returning customer"),
    "pickup": _l("Collected at your pickup point"),
    "renewal": _l("Renewal of a subscription you sold"),
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

# The attribution evidence an order keeps (orders.attribution.Attributor.credit).
EVIDENCE_LABELS = {
    "coupons": _l("Coupons used"),
    "portal_ref": _l("Link code at checkout"),
    "utm": _l("Visit tags"),
    "matched": _l("Code that matched"),
    "bound_at": _l("Customer bound on"),
    "expires_at": _l("Binding ends on"),
    "sub_id": _l("Sub-id of the link"),
    "referrer_host": _l("Came from"),
    "pickup_point": _l("Pickup point"),
    "renewal_of": _l("Renewal of order"),
    "renewal_number": _l("Renewal number"),
    "renewal_months": _l("Months since the first order"),
}
# Kept for the portal's own use, not shown.
HIDDEN_EVIDENCE = frozenset({"renewal_of_id"})


def evidence_items(evidence: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The evidence as (label, value) pairs a person reads; empty entries are left out
    (no ``coupons: []``) and lists and tags are written out."""
    items = []
    for key, value in (evidence or {}).items():
        if value in (None, "", [], {}) or key in HIDDEN_EVIDENCE:
            continue
        if isinstance(value, dict):
            text = ", ".join(f"{k} = {v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif key == "renewal_of":
            text = f"#{value}"
        else:
            text = str(value)
        items.append((str(EVIDENCE_LABELS.get(key, key)), text))
    return items


def seller_text(seller: str | None) -> str:
    """Who sold an order on a statement: a team member by name, else the distributor."""
    return seller or _("Own sale")
