"""Landing page, ``/healthz``, the admin home and error pages."""

from __future__ import annotations

import os
from typing import Any

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as PageNotFound
from werkzeug.wrappers import Response

from portal import jobs
from portal.accounts.access import staff_blueprint
from portal.distributors import services as distributors
from portal.errors import NotFound
from portal.extensions import db
from portal.inputs import UnprintableInput

public = Blueprint("core", __name__)
admin = staff_blueprint("admin", __name__)


@public.get("/")
def index() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("admin.home" if current_user.is_staff else "me.home"))
    return render_template("index.html")


@public.get("/favicon.ico")
def favicon() -> Response:
    """Browsers, chat apps and bookmarks ask for /favicon.ico whatever the page links."""
    return send_from_directory(
        os.path.join(current_app.root_path, "static"), "favicon.ico", max_age=86400
    )


@public.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # a health check reports failures instead of raising
        current_app.logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
    if current_app.config["REDIS_URL"]:
        checks["redis"] = "ok" if jobs.redis_ok() else "error"
    else:
        checks["redis"] = "not configured"
    healthy = "error" not in checks.values()
    body = {"status": "ok" if healthy else "error", **checks}
    return jsonify(body), 200 if healthy else 503


@admin.get("/")
def home() -> str:
    counts = {status.value: n for status, n in distributors.count_by_status().items()}
    return render_template("admin/home.html", counts=counts)


def _error_page(error: HTTPException) -> tuple[str, int]:
    messages: dict[int, Any] = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("We could not find that page."),
        405: _("That action is not allowed here."),
        429: _("Too many requests. Please wait a moment."),
        500: _("Something went wrong on our side. Please try again."),
        503: _("The service is unavailable for a moment. Please try again shortly."),
    }
    code = error.code or 500
    return render_template(
        "error.html", code=code, message=messages.get(code, error.description)
    ), code


def register_error_handlers(app: Any) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            code=400,
            message=_(
                "Your form expired or was sent from elsewhere. Reload the page and try again."
            ),
        ), 400

    @app.errorhandler(UnprintableInput)
    def unprintable_input(error: UnprintableInput) -> tuple[str, int]:
        return render_template("error.html", code=400, message=error.description), 400

    @app.errorhandler(NotFound)
    def not_found(error: NotFound) -> tuple[str, int]:
        """A service's "no such row" that no view turned into ``abort(404)`` first."""
        return _error_page(PageNotFound())

    for code in (400, 403, 404, 405, 429, 500, 503):
        app.register_error_handler(code, _error_page)
