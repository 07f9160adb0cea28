"""The "mark all as read" form."""

from __future__ import annotations

from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp

from portal.forms import Form


class ReadAllForm(Form):
    """Carries the newest notification on the page: one arriving after it was shown
    stays unread."""

    up_to = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,18}$")])
