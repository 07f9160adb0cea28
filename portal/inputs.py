"""The one input filter: NUL bytes and other control characters never reach a service.

PostgreSQL refuses NUL in text (the driver raises), and no person types control
characters; they come from fuzzers and broken clients. So:

* in the URL (path values, query keys and values) they are a 400 page before any view runs
  (the API answers it as JSON);
* in a form of the core they are a field error (:class:`portal.forms.Form` checks every
  field);
* in a form posted to a view outside the core (plugins), which may not use that form
  class, they are the same 400 page.

Tab, newline and carriage return are allowed in multi-line text (textareas) only.
"""

from __future__ import annotations

import unicodedata

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

MULTILINE_ALLOWED = frozenset("\t\n\r")
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
MESSAGE = _l("Remove the invisible control characters (such as NUL) from this field.")


def unprintable(text: str, multiline: bool = False) -> bool:
    """Whether ``text`` holds a control character (Unicode category Cc: C0, DEL, C1)
    other than tab/newline/CR in multi-line text."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(
        unicodedata.category(ch) == "Cc" and ch not in allowed
        for ch in text
        if not ch.isprintable()  # a cheap pre-filter: every Cc is unprintable
    )


class UnprintableInput(BadRequest):
    """A control character in the URL or in a form no core form checks."""

    def __init__(self) -> None:
        super().__init__(
            str(_l("The address or form contains invisible control characters (such as NUL)."))
        )


def _url_values() -> list[str]:
    values = [v for v in (request.view_args or {}).values() if isinstance(v, str)]
    for key, items in request.args.lists():
        values += [key, *items]
    return values


def _view_in_core() -> bool:
    function = current_app.view_functions.get(request.endpoint or "")
    return function is not None and function.__module__.startswith("portal.")


def _form_values() -> list[str]:
    if request.mimetype not in FORM_MIMETYPES:
        return []  # JSON and raw bodies (webhooks) belong to their views
    values: list[str] = []
    for key, items in request.form.lists():
        values += [key, *items]
    values += [f.filename or "" for f in request.files.values()]
    return values


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_control_characters() -> None:
        if any(unprintable(value) for value in _url_values()):
            raise UnprintableInput()
        if not _view_in_core() and any(
            unprintable(value, multiline=True) for value in _form_values()
        ):
            raise UnprintableInput()
