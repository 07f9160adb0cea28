"""Labels shown for campaign metrics and states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.campaigns.models import AwardState, CampaignMetric, CampaignState

METRIC_LABELS = {
    CampaignMetric.RECRUITS: _l("Recruits"),
    # Counted over qualifying orders (portal.risk.qualifying): paid, not held by risk.
    CampaignMetric.ORDERS: _l("Qualifying orders"),
    CampaignMetric.SALES: _l("Qualifying sales"),
    CampaignMetric.NEW_CUSTOMERS: _l("New customers"),
}

STATE_LABELS = {
    CampaignState.OPEN: lazy_pgettext("campaign state", "Open"),
    CampaignState.CLOSING: _l("Awarding"),
    CampaignState.CLOSED: _l("Closed"),
}

AWARD_STATE_LABELS = {
    AwardState.HOLDING: _l("On hold for the return window"),
    AwardState.AVAILABLE: _l("Available"),
    AwardState.REVERSED: _l("Reversed: no longer reached"),
}
