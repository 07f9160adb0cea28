"""Human names for how an order was attributed (statements, order pages)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ATTRIBUTION_LABELS = {
    "coupon": _l("Coupon"),
    "ref_meta": _l("Your link (checkout)"),
    "utm": _l("Your link (visit)"),
    "binding": _l("Returning customer"),
    "manual": _l("Assigned by the shop"),
}
