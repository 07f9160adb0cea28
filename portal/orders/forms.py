"""The ops form for re-assigning an order."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from portal.forms import Form, strip


class ReassignForm(Form):
    code = StringField(
        _l("Credit to (referral code)"),
        validators=[InputRequired(), Length(max=8)],
        filters=[strip],
    )
    reason = StringField(
        _l("Reason"), validators=[InputRequired(), Length(max=300)], filters=[strip]
    )
