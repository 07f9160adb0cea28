"""Human explanations of why a commission line is zero (preview, statements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.commissions.engine import ZeroReason
from portal.commissions.models import CommissionState
from portal.ledger.labels import BUCKET_LABELS

ZERO_REASONS = {
    ZeroReason.SELF_PURCHASE.value: _l("Own order: the buyer is this distributor."),
    ZeroReason.INACTIVE.value: _l("The distributor was not active."),
    ZeroReason.NO_RECENT_SALE.value: _l("No own sale recently enough for team commission."),
    ZeroReason.EXCLUDED.value: _l("Only excluded products."),
    ZeroReason.NO_RATE.value: _l("No rate applies at this depth."),
    ZeroReason.CAPPED.value: _l("Reduced to nothing by the cap."),
    ZeroReason.NOTHING_TO_EARN.value: _l("Rounds to nothing."),
}

# A state that holds money is called what its ledger balance is called.
STATE_LABELS = {
    **{
        state.value: BUCKET_LABELS[state.value]
        for state in CommissionState
        if state.value in BUCKET_LABELS
    },
    CommissionState.REVERSED.value: _l("Reversed"),
}

STATE_HELP = {
    CommissionState.PENDING.value: _l("The order is not completed yet."),
    CommissionState.HOLDING.value: _l("Completed; waiting for the return window to pass."),
    CommissionState.AVAILABLE.value: _l("Yours to withdraw."),
    CommissionState.PAID.value: _l("Paid out to you."),
    CommissionState.ON_REVIEW.value: _l("Held while the shop checks the order."),
    CommissionState.REVERSED.value: _l("The order was cancelled or refunded."),
}
