"""The ops forms for poster templates (one sub-form per element) and the shop's brand."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, ColorField, FormField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from portal.forms import Form, strip
from portal.links import posters
from portal.links.models import PosterKind, PosterTemplate

KIND_LABELS = {PosterKind.PRODUCT: _l("Product poster"), PosterKind.INVITE: _l("Invite poster")}

SLOT_LABELS = {
    "picture": _l("Product picture"),
    "title": _l("Product name"),
    "price": _l("Price"),
    "earn": _l("Earn line"),
    "qr": _l("QR code"),
    "distributor": _l("Distributor name"),
    "shop": _l("Shop name"),
    "logo": _l("Shop logo"),
}
INVITE_LABELS = {"title": _l("Invitation"), "earn": _l("Commission rate")}

IMAGE_HINT = _l("PNG, JPEG or WebP, up to 5 MB.")
COLOUR = Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Pick a colour."))


def slot_label(kind: PosterKind, name: str) -> Any:
    if kind is PosterKind.INVITE and name in INVITE_LABELS:
        return INVITE_LABELS[name]
    return SLOT_LABELS[name]


def _position(label: Any) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(0, posters.MAX_SIDE)])


def _length(label: Any, maximum: int = posters.MAX_SIDE) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(1, maximum)])


class _Slot(Form):
    class Meta:
        csrf = False  # part of the template form, which carries the token

    shown = BooleanField(_l("Shown"))
    x = _position(_l("Left (px)"))
    y = _position(_l("Top (px)"))


class BoxForm(_Slot):
    w = _length(_l("Width (px)"))
    h = _length(_l("Height (px)"))


class SquareForm(_Slot):
    size = _length(_l("Size (px)"))


class TextForm(_Slot):
    w = _length(_l("Width (px)"))
    size = _length(_l("Font size (px)"), posters.MAX_FONT)
    colour = ColorField(_l("Colour"), validators=[DataRequired(), COLOUR])


SHAPE_FORMS: dict[posters.Shape, type[_Slot]] = {
    posters.Shape.BOX: BoxForm,
    posters.Shape.SQUARE: SquareForm,
    posters.Shape.TEXT: TextForm,
}


class _TemplateForm(Form):
    kind_value: PosterKind
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[strip])
    active = BooleanField(
        _l("Offered to distributors"),
        description=_l("Distributors choose among the active templates; the newest comes first."),
    )
    background = FileField(
        _l("Background picture"),
        description=_l(
            "PNG, JPEG or WebP, up to 5 MB, %(min)d to %(max)d pixels on each side: the "
            "poster has its size.",
            min=posters.MIN_SIDE,
            max=posters.MAX_SIDE,
        ),
    )

    def slots(self) -> list[tuple[str, FormField]]:
        return [(name, self[name]) for name in posters.KIND_SLOTS[self.kind_value]]

    def layout(self) -> posters.Layout:
        return {name: dict(field.data) for name, field in self.slots()}


@cache
def template_form(kind: PosterKind) -> type[_TemplateForm]:
    """The form class for one kind of poster: a sub-form per element it places
    (``qr-x``, ``qr-size``, …)."""
    fields: dict[str, Any] = {"kind_value": kind}
    for name in posters.KIND_SLOTS[kind]:
        shape = posters.SLOTS[name].shape
        fields[name] = FormField(SHAPE_FORMS[shape], label=slot_label(kind, name))
    return type(f"{kind.value.title()}TemplateForm", (_TemplateForm,), fields)


def initial(kind: PosterKind, template: PosterTemplate | None) -> dict[str, Any]:
    """The form's starting values: the template's, else the built-in layout's."""
    if template is None:
        return {"name": "", "active": True, **posters.DEFAULT_LAYOUTS[kind]}
    layout = {**posters.DEFAULT_LAYOUTS[kind], **template.layout}
    return {"name": template.name, "active": template.active, **layout}


class BrandForm(Form):
    shop_name = StringField(
        _l("Shop name"),
        description=_l("Printed on share cards and posters. Empty: none."),
        validators=[Length(max=120)],
        filters=[strip],
    )
    logo = FileField(_l("Shop logo"), description=IMAGE_HINT)
    remove_logo = BooleanField(_l("Remove the logo"))
