"""Security headers on every response: a strict Content-Security-Policy (no inline
script or style anywhere; htmx and portal.js are files, htmx's own indicator style is
switched off in base.html), no MIME sniffing, no framing, a cautious referrer policy,
and HSTS once the portal is served over HTTPS."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError

from portal import storefront

log = logging.getLogger(__name__)


def _shop_url(app: Flask, response: Response) -> str:
    """The shop's address, for pages only (a recorded one is read from the database;
    nothing else shows pictures)."""
    if app.config["WOO_STORE_URL"] or response.mimetype != "text/html":
        return app.config["WOO_STORE_URL"]
    try:
        return storefront.url()
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


def init_app(app: Flask) -> None:
    @app.after_request
    def secure_headers(response: Response) -> Response:
        headers = response.headers
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = _policy(_shop_url(app, response))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config["PORTAL_BASE_URL"].startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
