"""The creator tools' forms: choosing a vanity code, making a link to any shop page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.distributors import codes
from portal.forms import Form, strip
from portal.links import deep


class VanityForm(Form):
    vanity_code = StringField(
        _l("Your code"),
        validators=[DataRequired(), Length(max=codes.VANITY_MAX_LENGTH)],
        filters=[strip],
        description=_l("4 to 16 letters and digits, e.g. AMYBEAUTY. You can choose it once."),
    )


class DeepLinkForm(Form):
    url = StringField(
        _l("Address of a shop page"),
        validators=[DataRequired(), Length(max=deep.MAX_URL)],
        filters=[strip],
    )


class PeriodForm(Form):
    """The statistics' period, read from the query string (no CSRF: it reads)."""

    class Meta:
        csrf = False

    days = SelectField(
        _l("Period"),
        choices=[
            SelectChoice("7", _l("Last 7 days")),
            SelectChoice("30", _l("Last 30 days")),
            SelectChoice("90", _l("Last 90 days")),
            SelectChoice("365", _l("Last 365 days")),
        ],
        default="30",
    )
