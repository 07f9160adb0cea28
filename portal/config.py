"""Configuration read from the environment (the contract in DESIGN.md)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance_path: str) -> str:
    """Return the secret kept in the instance folder, generating it on first use.

    A development machine without ``SECRET_KEY`` still gets a stable, private key: sessions
    survive restarts and nothing secret is ever committed.
    """
    path = Path(instance_path) / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def from_environment(instance_path: str, env: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    database_url = env.get("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "portal.db")
    base_url = env.get("PORTAL_BASE_URL", "").rstrip("/")
    https = base_url.startswith("https://")
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or instance_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        # Several portals (or test runs) can share one Redis with different queue names.
        "PORTAL_QUEUE": env.get("PORTAL_QUEUE") or "portal",
        "PORTAL_BASE_URL": base_url,
        # PayPal's API address; empty: by the sandbox switch in Admin → Settings (tests point
        # it at a loopback PayPal).
        "PAYPAL_API_BASE": env.get("PAYPAL_API_BASE", ""),
        # Reverse proxies in front of the portal (0 = none): client address and scheme
        # then come from X-Forwarded-For / -Proto, so login throttling counts real clients.
        "PORTAL_PROXY_COUNT": int(env.get("PORTAL_PROXY_COUNT") or 0),
        "PORTAL_LOG_FORMAT": env.get("PORTAL_LOG_FORMAT", "json"),
        "PORTAL_METRICS_TOKEN": env.get("PORTAL_METRICS_TOKEN", ""),
        # A TrueType font with Chinese glyphs for share cards (else common Debian paths).
        "PORTAL_CARD_FONT": env.get("PORTAL_CARD_FONT", ""),
        # Uploaded promotion material (images); outside the code, in the instance folder.
        "PORTAL_UPLOAD_PATH": env.get("PORTAL_UPLOAD_PATH") or str(Path(instance_path) / "uploads"),
        # Email for notifications: console (log) | file (PORTAL_MAIL_FILE) | smtp | none.
        "PORTAL_MAIL_SENDER": env.get("PORTAL_MAIL_SENDER") or "console",
        "PORTAL_MAIL_FILE": env.get("PORTAL_MAIL_FILE") or str(Path(instance_path) / "mail.log"),
        "PORTAL_MAIL_FROM": env.get("PORTAL_MAIL_FROM") or "portal@localhost",
        "SMTP_HOST": env.get("SMTP_HOST") or "localhost",
        "SMTP_PORT": int(env.get("SMTP_PORT") or 587),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_SECURITY": env.get("SMTP_SECURITY") or "starttls",  # starttls | ssl | none
        # How long emailed reset and invitation links work.
        "PORTAL_RESET_TOKEN_AGE": timedelta(
            minutes=int(env.get("PORTAL_RESET_LINK_MINUTES") or 60)
        ),
        "PORTAL_INVITE_TOKEN_AGE": timedelta(days=int(env.get("PORTAL_INVITE_LINK_DAYS") or 7)),
        # Secure also whenever a request arrives over HTTPS (portal.security.SecureCookies).
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": "translations",
        "WTF_CSRF_TIME_LIMIT": None,
        "PORTAL_PAGE_SIZE": 25,
        "PORTAL_SCHEDULER_TICK": 30,
        # How often an open campaign's leaderboard and progress refresh themselves (s).
        "PORTAL_CAMPAIGN_REFRESH_SECONDS": 60,
    }
