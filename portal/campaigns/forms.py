"""The ops form for a new campaign."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.campaigns.labels import METRIC_LABELS
from portal.campaigns.models import CampaignMetric
from portal.campaigns.services import CampaignData
from portal.distributors.labels import ROLE_LABELS
from portal.forms import Form, strip

MAX_AMOUNT = Decimal("100000000")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError(_l("“%(text)s” is not a number.", text=text.strip())) from None
    if not value.is_finite() or value <= 0 or value >= MAX_AMOUNT:
        raise ValidationError(_l("Amounts must be above 0."))
    if value != value.quantize(Decimal("0.0001")):
        raise ValidationError(_l("At most 4 decimal places."))
    return value


def parse_tiers(text: str) -> list[tuple[Decimal, Decimal]]:
    """Lines of "target = bonus" ("10 = 50"); blank lines are ignored."""
    tiers = []
    for line in text.splitlines():
        if not line.strip():
            continue
        target, sep, bonus = line.partition("=")
        if not sep:
            raise ValidationError(_l("Write each tier as “target = bonus”, e.g. 10 = 50."))
        tiers.append((_decimal(target), _decimal(bonus)))
    if len({t for t, _b in tiers}) != len(tiers):
        raise ValidationError(_l("Two tiers have the same target."))
    return sorted(tiers)


def parse_prizes(text: str) -> list[Decimal]:
    """One bonus per line: the first line is first place."""
    return [_decimal(line) for line in text.splitlines() if line.strip()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CampaignForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=4000)], filters=[strip]
    )
    metric = SelectField(
        _l("Measured by"),
        choices=[SelectChoice(m.value, label) for m, label in METRIC_LABELS.items()],
    )
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(
        _l("Last day"),
        validators=[DataRequired()],
        description=_l("Days run from midnight to midnight UTC; the last day counts in full."),
    )
    roles = MultiCheckboxField(
        _l("Eligible roles"),
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        description=_l("None ticked: every role."),
    )
    levels = MultiCheckboxField(_l("Eligible levels"), coerce=int, choices=[])
    tiers = TextAreaField(
        _l("Tiers"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One per line, “target = bonus”, e.g. 10 = 50. Every tier reached pays."),
    )
    prizes = TextAreaField(
        _l("Leaderboard prizes"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One bonus per line: first line for 1st place, second for 2nd…"),
    )

    def __init__(self, *args: Any, levels: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels.choices = [SelectChoice(value, label) for value, label in levels]

    def validate_ends_on(self, field: DateField) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def validate_tiers(self, field: TextAreaField) -> None:
        parse_tiers(field.data or "")

    def validate_prizes(self, field: TextAreaField) -> None:
        if len(parse_prizes(field.data or "")) > 100:
            raise ValidationError(_l("At most 100 prizes."))
        if not parse_prizes(field.data or "") and not parse_tiers(self.tiers.data or ""):
            raise ValidationError(_l("Give at least one tier or one prize."))

    def data_object(self) -> CampaignData:
        return CampaignData(
            name=self.name.data or "",
            description=self.description.data or "",
            metric=CampaignMetric(self.metric.data),
            starts_at=datetime.combine(self.starts_on.data, time(), UTC),  # type: ignore[arg-type]
            ends_at=datetime.combine(self.ends_on.data, time(), UTC)  # type: ignore[arg-type]
            + timedelta(days=1),
            eligible_roles=list(self.roles.data or []),
            eligible_level_ids=list(self.levels.data or []),
            tiers=parse_tiers(self.tiers.data or ""),
            prizes=parse_prizes(self.prizes.data or ""),
        )
