"""Rendering that serves HTMX swaps and plain page loads from one view."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, make_response, render_template, url_for
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


def public_url(endpoint: str, **values: Any) -> str:
    """Absolute URL for links people share (invites, short links).

    Uses ``PORTAL_BASE_URL`` when set — behind a proxy the request's host may be an
    internal name — and the current request's host otherwise.
    """
    base = current_app.config["PORTAL_BASE_URL"]
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
