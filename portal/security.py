"""Security headers on every response: a strict Content-Security-Policy (no inline
script or style anywhere; htmx and portal.js are files, htmx's own indicator style is
switched off in base.html), no MIME sniffing, no framing, a cautious referrer policy,
and HSTS once the portal is served over HTTPS; every cookie is Secure on HTTPS requests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError

from portal import registry

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _shop_url(app: Flask, response: Response, recorded: Callable[[], str]) -> str:
    """The shop's address, for pages only (``recorded`` reads the one recorded in the
    database; nothing else shows pictures)."""
    configured = registry.configured_shop_url(app)
    if configured or response.mimetype != "text/html":
        return configured
    try:
        return recorded()
    except SQLAlchemyError:
        log.warning("the shop's address could not be read for the page's policy")
        return ""


def _policy(shop_url: str) -> str:
    # Product pictures come straight from the shop (catalogue image URLs).
    shop = urlsplit(shop_url)
    images = ["'self'", "data:"]
    if shop.scheme in ("http", "https") and shop.hostname:
        images.append(f"{shop.scheme}://{shop.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask, shop_url: Callable[[], str]) -> None:
    """Headers on every response; ``shop_url`` reads the shop's recorded address (given by
    the app factory: portal.storefront reads settings and orders, which import this)."""

    @app.after_request
    def secure_headers(response: Response) -> Response:
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = _policy(_shop_url(app, response, shop_url))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config["PORTAL_BASE_URL"].startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


class SecureCookies:
    """WSGI middleware: on a request that came over HTTPS (after ``ProxyFix``, so behind a
    TLS proxy too) every cookie set — session, remember-me, language — is marked
    ``Secure``, even when ``PORTAL_BASE_URL`` does not say ``https://``. Flask and
    Flask-Login only know a fixed setting; the scheme is known per request."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("wsgi.url_scheme") != "https":
            return self.app(environ, start_response)

        def secure_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            marked = [
                (name, value + "; Secure")
                if name.lower() == "set-cookie" and "; secure" not in value.lower()
                else (name, value)
                for name, value in headers
            ]
            return start_response(status, marked, *args)

        return self.app(environ, secure_start)
