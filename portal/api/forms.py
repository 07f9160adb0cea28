"""The API token form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.forms import Form, strip


class TokenForm(Form):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=80)],
        filters=[strip],
        description=_l("Who or what uses it, e.g. “Shop reporting script”."),
    )
