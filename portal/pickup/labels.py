"""Words people read for pickup point states."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.pickup.models import PointStatus

POINT_STATUS_LABELS = {
    PointStatus.PENDING: _l("Waiting for the shop's review"),
    PointStatus.APPROVED: _l("Approved: offered at checkout"),
    PointStatus.REJECTED: _l("Not approved"),
}

ROUND_STATE_LABELS = {
    "upcoming": _l("Starts soon"),
    "open": _l("Open"),
    "closed": _l("Closed: order from the shop"),
}
