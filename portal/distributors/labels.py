"""Human names for distributor roles and states (forms and templates share them)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.distributors.models import AdjustmentState, DistributorRole, DistributorStatus

ROLE_LABELS = {
    DistributorRole.AFFILIATE: _l("Affiliate / creator"),
    DistributorRole.GROUP_LEADER: _l("Community group leader"),
    DistributorRole.AGENT: _l("Agent"),
}

STATUS_LABELS = {
    DistributorStatus.APPLIED: _l("Waiting for review"),
    DistributorStatus.ACTIVE: _l("Active"),
    DistributorStatus.SUSPENDED: _l("Suspended"),
    DistributorStatus.REJECTED: _l("Rejected"),
}

ADJUSTMENT_STATE_LABELS = {
    AdjustmentState.PENDING: _l("Waiting for approval"),
    AdjustmentState.APPROVED: _l("Approved and booked"),
    AdjustmentState.REJECTED: _l("Rejected"),
}
