"""Human explanations of why a commission line is zero (preview, statements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.commissions.engine import ZeroReason

ZERO_REASONS = {
    ZeroReason.SELF_PURCHASE.value: _l("Own order: the buyer is this distributor."),
    ZeroReason.INACTIVE.value: _l("The distributor was not active."),
    ZeroReason.NO_RECENT_SALE.value: _l("No own sale recently enough for team commission."),
    ZeroReason.EXCLUDED.value: _l("Only excluded products."),
    ZeroReason.NO_RATE.value: _l("No rate applies at this depth."),
    ZeroReason.CAPPED.value: _l("Reduced to nothing by the cap."),
    ZeroReason.NOTHING_TO_EARN.value: _l("Rounds to nothing."),
}
