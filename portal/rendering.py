"""Rendering that serves HTMX swaps and plain page loads from one view."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template
from htmx_flask import request


def is_htmx() -> bool:
    return bool(request.htmx)


def render(page: str, partial: str, /, http_status: int = 200, **context: Any) -> Response:
    """Render ``partial`` for an HTMX request and the full ``page`` otherwise.

    ``Vary: HX-Request`` keeps caches from serving one in place of the other.
    """
    template = partial if is_htmx() else page
    response = make_response(render_template(template, **context), http_status)
    response.vary.add("HX-Request")
    return response
