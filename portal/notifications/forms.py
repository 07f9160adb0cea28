"""The "mark all as read" form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Regexp

from portal.forms import Form


class ReadAllForm(Form):
    """Carries the newest notification on the page: one arriving after it was shown
    stays unread."""

    up_to = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,18}$")])


class SettingsForm(Form):
    """Which notices the distributor wants besides the ones about their money moving."""

    notify_commission = BooleanField(
        _l("When an order earns me commission"),
        description=_l("A notice (and an email) for each order someone buys through you."),
    )
    notify_team_sale = BooleanField(
        _l("When someone in my team makes a sale"),
        description=_l("A notice (and an email) when a team member's order earns you."),
    )
