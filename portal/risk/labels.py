"""Human names of the risk rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RULE_LABELS = {
    "self_purchase": _l("Bought by the distributor"),
    "same_device": _l("Same device as the distributor"),
    "team_loop": _l("Bought inside the team"),
    "velocity": _l("Many orders in an hour"),
    "large_order": _l("Large order"),
}

FLAG_STATUS_LABELS = {
    "open": _l("Open"),
    "released": _l("Released"),
    "rejected": _l("Rejected"),
}
