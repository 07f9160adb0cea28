"""Structured logs: one JSON object per line on stdout, each with the request id (taken
from ``X-Request-ID`` when the proxy sets one, else generated, and echoed back) and the
signed-in user's id; one access line per request. ``PORTAL_LOG_FORMAT=text`` gives plain
lines for a terminal."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from flask_login import current_user

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
access = logging.getLogger("portal.access")


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` to every record made during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            user = current_user
            record.user_id = user.get_id() if user and user.is_authenticated else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(fmt: str) -> None:
    """Send the portal's logs to stdout once per process (the app factory runs often in
    tests; handlers are not stacked)."""
    logger = logging.getLogger("portal")
    if any(getattr(h, "portal_handler", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.portal_handler = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt != "text"
        else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def init_app(app: Flask) -> None:
    if not app.testing:
        configure(app.config["PORTAL_LOG_FORMAT"])

    @app.before_request
    def request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.log_started = time.perf_counter()

    @app.after_request
    def access_line(response: Response) -> Response:
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        started = g.get("log_started")
        if started is not None:
            access.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response
