"""Small helpers shared by the WTForms forms."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, FieldList, FormField
from wtforms.widgets import TextArea

from portal.errors import ServiceError
from portal.inputs import MESSAGE, unprintable


def _fields(form: Any) -> Any:
    """Every field of a form, into nested forms and lists."""
    for field in form:
        if isinstance(field, FormField):
            yield from _fields(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from _fields(entry.form) if isinstance(entry, FormField) else [entry]
        else:
            yield field


class Form(FlaskForm):
    """The base of every form of the core: a control character typed or posted into any
    field (NUL, escape, …; tab and newlines are fine in a textarea) is that field's error,
    so no such value ever reaches a service or the database (see :mod:`portal.inputs`)."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in _fields(self):
            if _unprintable(field):
                field.errors = [str(MESSAGE)]
                valid = False
        return valid


def _unprintable(field: Field) -> bool:
    multiline = isinstance(field.widget, TextArea)
    return any(
        isinstance(value, str) and unprintable(value, multiline) for value in field.raw_data or ()
    )


def like_escape(text: str) -> str:
    """Search text for ``ilike(..., escape="\\")``: % and _ typed by people match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def error_text(form: Any) -> str:
    """All of a form's field errors as one line (for an in-place row that shows one)."""
    return "; ".join(e for errs in form.errors.values() for e in errs)


def attach_error(form: Any, error: ServiceError, fallback: str | None = None) -> None:
    """A service's refusal shown where it belongs: on its field when the form has one by
    that name (``qr-x``: field ``x`` of the sub-form ``qr``), else on the ``fallback``
    field (a refusal that names no field of this form, e.g. a failed sign-in beside the
    password), otherwise above the form."""
    for name in (error.field, fallback):
        field = _field(form, name) if name else None
        if field is not None:
            field.errors.append(error.message)
            return
    form.form_errors.append(error.message)


def _field(form: Any, name: str) -> Field | None:
    if name in form:
        return form[name]
    head, _sep, rest = name.partition("-")
    if rest and head in form and isinstance(form[head], FormField):
        return _field(form[head].form, rest)
    return None


def strip(value: str | None) -> str | None:
    """Field filter: people paste emails and codes with stray spaces."""
    return value.strip() if isinstance(value, str) else value


class PlainDecimalField(DecimalField):
    """A finite decimal with at most 4 places, shown without padding zeros (12.5000 → "12.5").

    NaN, Infinity and more precision than the column keeps are field errors here, never a
    500 later (Python's Decimal accepts all of them).
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        value = self.data
        if isinstance(value, Decimal):
            if not value.is_finite():
                self.data = None
                raise ValueError(_l("Not a valid decimal value."))
            try:
                exact = value == value.quantize(Decimal("0.0001"))
            except InvalidOperation:  # more digits than Decimal's context holds (1e30)
                self.data = None
                raise ValueError(_l("Not a valid decimal value.")) from None
            if not exact:
                self.data = None
                raise ValueError(_l("Use at most 4 decimal places."))

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, Decimal):
            text = format(self.data.normalize(), "f")
            return text
        return super()._value()
