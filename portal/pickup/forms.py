"""Pickup point, review and pick-list filter forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from portal.forms import Form, strip


class PointForm(Form):
    name = StringField(
        _l("Name of the point"), validators=[DataRequired(), Length(max=80)], filters=[strip]
    )
    address = TextAreaField(
        _l("Address"), validators=[DataRequired(), Length(max=300)], filters=[strip]
    )
    hours = StringField(
        _l("Opening hours"),
        validators=[DataRequired(), Length(max=200)],
        filters=[strip],
        description=_l("For example: Mon–Sat 9:00–20:00"),
    )


class ReviewForm(Form):
    note = StringField(_l("Note to the leader"), validators=[Length(max=500)], filters=[strip])


class PickFilterForm(Form):
    """The pick list's filters, from the query string (no CSRF: it reads)."""

    class Meta:
        csrf = False

    day = DateField(_l("Ordered on"), validators=[Optional()])
    waiting = BooleanField(_l("Only orders not handed over yet"))
    round = IntegerField(_l("Round"), validators=[Optional()], widget=HiddenInput())


class LeaderRoundForm(Form):
    """A round a group leader opens for their own group (when the shop allows it)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    product_ids = StringField(
        _l("Product numbers"),
        validators=[DataRequired(), Length(max=1000)],
        filters=[strip],
        description=_l("The shop's product numbers, separated by commas."),
    )
    closes_at = DateTimeLocalField(_l("Deadline (UTC)"), validators=[DataRequired()])


class RoundForm(LeaderRoundForm):
    """A round ops open: from a start, for every leader or one."""

    opens_at = DateTimeLocalField(_l("Starts (UTC)"), validators=[DataRequired()])
    leader_code = StringField(
        _l("Only for the leader with code"),
        validators=[Optional(), Length(max=16)],
        filters=[strip],
        description=_l("Empty: every group leader."),
    )
