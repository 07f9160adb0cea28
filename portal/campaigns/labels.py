"""Labels shown for campaign metrics and states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.campaigns.models import CampaignMetric, CampaignState

METRIC_LABELS = {
    CampaignMetric.RECRUITS: _l("Recruits"),
    CampaignMetric.ORDERS: _l("Attributed orders"),
    CampaignMetric.SALES: _l("Sales amount"),
    CampaignMetric.NEW_CUSTOMERS: _l("New customers"),
}

STATE_LABELS = {
    CampaignState.OPEN: lazy_pgettext("campaign state", "Open"),
    CampaignState.CLOSING: _l("Awarding"),
    CampaignState.CLOSED: _l("Closed"),
}
