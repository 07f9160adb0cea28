"""The risk queue's decision form."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.forms import Form, strip


class DecisionForm(Form):
    """CSRF, and the reason a rejection needs."""

    reason = StringField(validators=[Optional(), Length(max=500)], filters=[strip])
