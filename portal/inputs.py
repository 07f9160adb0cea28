"""The one input filter: NUL bytes and other control characters never reach a service.

PostgreSQL refuses NUL in text (the driver raises), and no person types control
characters; they come from fuzzers and broken clients. So:

* in the query string (keys and values) they are a 400 page before any view runs (the API
  answers it as JSON);
* in a path segment (``<code>``, ``<product_id>``) the URL matches no route: a 404;
* in a form of the core they are a field error (:class:`portal.forms.Form` checks every
  field);
* in a form posted to a view outside the core (plugins), which may not use that form
  class, they are the same 400 page — unless the plugin declares, with
  :func:`forms_checked`, that its blueprint's forms are that class.

Tab, newline and carriage return are allowed in multi-line text (textareas) only.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.routing import UnicodeConverter

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
    """A control character in the query string or in a form no core form checks."""

    def __init__(self) -> None:
        super().__init__(
            str(_l("The address or form contains invisible control characters (such as NUL)."))
        )


class PlainSegment(UnicodeConverter):
    """The default ``<name>`` converter, refusing control characters: such a URL names
    nothing, and no view ever sees the value."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f-\x9f]", 1)


def _query_values() -> list[str]:
    values: list[str] = []
    for key, items in request.args.lists():
        values += [key, *items]
    return values


_CHECKED = "portal.inputs.checked_blueprints"


def forms_checked(app: Flask, blueprint: str) -> None:
    """A plugin's blueprint whose forms are :class:`portal.forms.Form`: control characters
    posted to it are field errors, as in the core, not the 400 page."""
    app.extensions.setdefault(_CHECKED, set()).add(blueprint)


def _forms_checked() -> bool:
    function = current_app.view_functions.get(request.endpoint or "")
    if function is not None and function.__module__.startswith("portal."):
        return True
    return request.blueprint in current_app.extensions.get(_CHECKED, ())


def _form_values() -> list[str]:
    if request.mimetype not in FORM_MIMETYPES:
        return []  # JSON and raw bodies belong to their views
    # Keep the raw body readable for the view (a signed webhook checks its bytes): the
    # form is then parsed from this cached copy instead of consuming the stream.
    request.get_data(parse_form_data=False)
    values: list[str] = []
    for key, items in request.form.lists():
        values += [key, *items]
    values += [f.filename or "" for f in request.files.values()]
    return values


def init_app(app: Flask) -> None:
    """Before any blueprint: rules take their converters when they are added."""
    app.url_map.converters["default"] = app.url_map.converters["string"] = PlainSegment

    @app.before_request
    def refuse_control_characters() -> None:
        if any(unprintable(value) for value in _query_values()):
            raise UnprintableInput()
        if not _forms_checked() and any(
            unprintable(value, multiline=True) for value in _form_values()
        ):
            raise UnprintableInput()
