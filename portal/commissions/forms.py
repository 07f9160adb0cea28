"""Forms for plans, overrides, levels and the commission preview."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.forms import Form, PlainDecimalField, strip

HUNDRED = Decimal(100)


MAX_FIXED = Decimal("1000000")  # per unit; anything larger is a typo


_PERCENT = [NumberRange(min=0, max=100, message=_l("Use a percentage from 0 to 100."))]


def _percent(label: object) -> PlainDecimalField:
    return PlainDecimalField(label, places=None, validators=[InputRequired(), *_PERCENT])


def _depth_choices() -> list[SelectChoice]:
    return [SelectChoice(str(n), str(n)) for n in (1, 2, 3)]


class PlanForm(Form):
    max_depth = SelectField(
        _l("Levels paid"),
        coerce=int,
        choices=[
            SelectChoice("1", _l("1 — single level")),
            SelectChoice("2", _l("2 — seller and parent")),
            SelectChoice("3", _l("3 — up to the grandparent")),
        ],
    )
    rate_depth1 = _percent(_l("Seller (depth 1) %"))
    rate_depth2 = _percent(_l("Parent (depth 2) %"))
    rate_depth3 = _percent(_l("Grandparent (depth 3) %"))
    basis = SelectField(
        _l("Commission basis"),
        choices=[
            SelectChoice("product", _l("Per product (overrides apply)")),
            SelectChoice("order", _l("Order amount")),
        ],
    )
    cap_percent = PlainDecimalField(
        _l("Cap across all levels (percentage of basis, optional)"),
        places=None,
        validators=[Optional(), *_PERCENT],
    )
    network_sale_days = IntegerField(
        _l("Uplines need an own sale in the last N days (optional)"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
    )
    renewal_rate = PlainDecimalField(
        _l("Subscription renewals earn the original seller % (optional)"),
        places=None,
        validators=[Optional(), *_PERCENT],
        description=_l("Empty: subscription renewals earn nothing."),
    )
    renewal_limit = IntegerField(
        _l("For how many renewals (optional)"),
        validators=[Optional(), NumberRange(min=1, max=1000)],
    )
    renewal_months = IntegerField(
        _l("For how many months after the first order (optional)"),
        validators=[Optional(), NumberRange(min=1, max=600)],
    )
    exclusions = TextAreaField(
        _l("Excluded product IDs (earn nothing; comma or space separated)"),
        validators=[Optional(), Length(max=5000)],
    )

    def validate_cap_percent(self, field: PlainDecimalField) -> None:
        if field.data is None:
            return
        rates = [self.rate_depth1.data, self.rate_depth2.data, self.rate_depth3.data]
        enabled = [r for r in rates[: self.max_depth.data or 1] if r is not None]
        if field.data < sum(enabled, Decimal(0)):
            raise ValidationError(
                _l(
                    "The cap is below the sum of the rates of the paid levels (%(sum)s %%).",
                    sum=sum(enabled, Decimal(0)),
                )
            )

    def exclusion_ids(self) -> list[str]:
        raw = (self.exclusions.data or "").replace(",", " ").split()
        return sorted(set(raw))


class OverrideForm(Form):
    scope = SelectField(
        _l("Applies to"),
        choices=[SelectChoice("product", _l("Product")), SelectChoice("category", _l("Category"))],
    )
    target_id = StringField(
        _l("Product or category ID"),
        validators=[DataRequired(), Length(max=64), Regexp(r"^[\w.-]+$")],
        filters=[strip],
    )
    depth = SelectField(_l("Depth"), coerce=int, choices=_depth_choices())
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("percent", _l("Percent of the line")),
            SelectChoice("fixed", _l("Fixed amount per unit")),
        ],
    )
    value = PlainDecimalField(
        _l("Value"),
        places=None,
        validators=[
            InputRequired(),
            NumberRange(min=0, max=MAX_FIXED, message=_l("Use an amount from 0 to 1,000,000.")),
        ],
    )

    def validate_value(self, field: PlainDecimalField) -> None:
        if self.kind.data == "percent" and field.data is not None and field.data > HUNDRED:
            raise ValidationError(_l("Use a percentage from 0 to 100."))


class LevelForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)], filters=[strip])
    rank = IntegerField(_l("Rank"), validators=[InputRequired(), NumberRange(min=1, max=99)])
    rate_depth1 = PlainDecimalField(
        _l("Depth 1 %"), places=None, validators=[Optional(), *_PERCENT]
    )
    rate_depth2 = PlainDecimalField(
        _l("Depth 2 %"), places=None, validators=[Optional(), *_PERCENT]
    )
    rate_depth3 = PlainDecimalField(
        _l("Depth 3 %"), places=None, validators=[Optional(), *_PERCENT]
    )


class PreviewForm(Form):
    code = StringField(
        _l("Distributor code"), validators=[DataRequired(), Length(max=8)], filters=[strip]
    )
    order = StringField(
        _l("Shop order number (optional)"), validators=[Optional(), Length(max=64)], filters=[strip]
    )
    lines = TextAreaField(
        _l("Or type order lines: product, category, quantity, line total — one per line"),
        validators=[Optional(), Length(max=5000)],
    )
