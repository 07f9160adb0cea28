"""The ops form for a material and the distributors' filter form."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form, strip
from portal.materials.models import MaterialKind

KIND_LABELS = {
    MaterialKind.IMAGE: _l("Image"),
    MaterialKind.COPY: _l("Copy text"),
    MaterialKind.TUTORIAL: _l("Tutorial"),
    MaterialKind.SCRIPT: _l("Chat script"),
}

PLACEHOLDER_HINT = _l(
    "Placeholders filled for each distributor: {link}, {code}, {name}, {coupon}, "
    "{product_link:<shop product id>}."
)


def as_utc(value: datetime | None) -> datetime | None:
    """Times are typed in UTC (the form says so)."""
    return value.replace(tzinfo=UTC) if value is not None else None


class MaterialForm(Form):
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k.value, text) for k, text in KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    body = TextAreaField(
        _l("Text"),
        description=PLACEHOLDER_HINT,
        validators=[Length(max=20000)],
        render_kw={"rows": 8},
    )
    image = FileField(_l("Image (PNG, JPEG or WebP, up to 5 MB)"))
    category = StringField(_l("Category"), validators=[Length(max=64)], filters=[strip])
    tags = StringField(
        _l("Tags"), description=_l("Separated by commas."), validators=[Length(max=255)]
    )
    products = StringField(
        _l("Products"),
        description=_l("Shop product ids, separated by commas."),
        validators=[Length(max=1000)],
    )
    publish_from = DateTimeLocalField(
        _l("Published from (UTC)"),
        description=_l("Empty: a draft, not shown to distributors."),
        validators=[Optional()],
    )
    publish_until = DateTimeLocalField(
        _l("Published until (UTC)"), description=_l("Empty: no end."), validators=[Optional()]
    )
    pinned = BooleanField(_l("Pinned to the top"))

    def product_ids(self) -> list[str]:
        return [p.strip() for p in (self.products.data or "").split(",") if p.strip()]


class FilterForm(Form):
    """The library's search and filters, sent by GET as they change (no CSRF: it reads)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)], filters=[strip])
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("", _l("All kinds"))]
        + [SelectChoice(k.value, t) for k, t in KIND_LABELS.items()],
        validators=[Optional()],
    )
    category = SelectField(_l("Category"), validators=[Optional()])
    product = SelectField(_l("Product"), validators=[Optional()])
    new = BooleanField(_l("New this week"))
