"""The "mark all as read" form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Regexp


class ReadAllForm(FlaskForm):
    """Carries the newest notification on the page: one arriving after it was shown
    stays unread."""

    up_to = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,18}$")])
