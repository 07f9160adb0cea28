"""Rendering that serves HTMX swaps and plain page loads from one view."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from htmx_flask import request
from werkzeug.wrappers import Response as BaseResponse

from portal.errors import NotFound, ServiceError


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


def decision_answer(
    error: ServiceError | str | None,
    row: str | None,
    back: str,
    done: str,
    /,
    done_category: str = "success",
    **context: Any,
) -> BaseResponse:
    """The answer to a staff decision on one row of a queue (approve, reject, pay, …).

    ``error`` is the refusal: a :class:`~portal.errors.ServiceError`, a form's error
    text, or ``None`` when the decision was made. A :class:`~portal.errors.NotFound` is
    the 404 page. For htmx the answer is the ``row`` template (rendered with ``error``
    and ``context``) as the row is now: 200, or 409 beside the refusal (the decision did
    not happen; a :class:`~portal.errors.Conflict` is the usual one). Otherwise, or
    without a row template, the refusal or ``done`` is flashed and the browser goes to
    ``back``.
    """
    if isinstance(error, NotFound):
        abort(404)
    message = error.message if isinstance(error, ServiceError) else error
    if row is not None and is_htmx():
        return render(row, row, http_status=409 if message else 200, error=message, **context)
    flash(message or done, "error" if message else done_category)
    return redirect(back)


def public_url(endpoint: str, **values: Any) -> str:
    """Absolute URL for links people share (invites, short links).

    Uses ``PORTAL_BASE_URL`` when set — behind a proxy the request's host may be an
    internal name — and the current request's host otherwise.
    """
    base = current_app.config["PORTAL_BASE_URL"]
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
