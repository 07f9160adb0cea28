"""The shop's credentials: each ``WOO_*`` setting of the environment when it is set, else
what the merchant entered under Admin → Shop, kept in ``woo_connection`` encrypted
(Fernet; its key derived from ``SECRET_KEY`` by HKDF, so the database alone does not
give the keys away — and a changed ``SECRET_KEY`` makes them unreadable, which the Shop
page says, rather than wrong)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from flask import current_app

from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooConnection
from portal import crypto
from portal.accounts.models import User
from portal.audit import services as audit
from portal.extensions import db

# Each field and the setting that overrides it.
ENVIRONMENT = {
    "store_url": "WOO_STORE_URL",
    "key": "WOO_CONSUMER_KEY",
    "secret": "WOO_CONSUMER_SECRET",
    "webhook_secret": "WOO_WEBHOOK_SECRET",
    "signin_secret": "WOO_SIGNIN_SECRET",
}
_COLUMNS = {
    "key": "consumer_key",
    "secret": "consumer_secret",
    "webhook_secret": "webhook_secret",
    "signin_secret": "signin_secret",
}
_INFO = b"portal woocommerce-bridge credentials v1"
_CACHE = "woocommerce.credentials"
# How long a web process trusts the webhook secret it read (a rotated one is re-read at
# once when a signature does not match; an old one is refused after this at the latest).
SECRET_TTL = 60


@dataclass(frozen=True)
class Credentials:
    store_url: str
    key: str
    secret: str
    webhook_secret: str
    signin_secret: str  # signs the shop's "Distributor centre" sign-in assertions
    from_environment: frozenset[str]  # the fields a WOO_* setting gives
    unreadable: bool = False  # stored values this SECRET_KEY cannot decrypt

    @property
    def rest(self) -> bool:
        """Whether the REST API can be used."""
        return bool(self.store_url and self.key and self.secret)


def encrypt(text: str) -> str:
    return crypto.encrypt(text, _INFO)


def decrypt(token: str) -> str:
    """Raises ``InvalidToken`` when ``SECRET_KEY`` changed since it was stored."""
    return crypto.decrypt(token, _INFO)


def row(create: bool = False) -> WooConnection | None:
    found = db.session.get(WooConnection, 1)
    if found is None and create:
        found = WooConnection(id=1, webhooks=[], unauthorized=0)
        db.session.add(found)
    return found


def _stored() -> tuple[dict[str, str], bool]:
    stored = row()
    values = {"store_url": (stored.store_url if stored else None) or ""}
    unreadable = False
    for field, column in _COLUMNS.items():
        token = getattr(stored, column) if stored else None
        try:
            values[field] = decrypt(token) if token else ""
        except InvalidToken:
            values[field], unreadable = "", True
    return values, unreadable


def effective() -> Credentials:
    """What the bridge uses, read once per database session (a request, a job)."""
    cache = db.session.info
    if _CACHE not in cache:
        cfg = current_app.config
        stored, unreadable = _stored()
        values = {field: cfg[name] or stored[field] for field, name in ENVIRONMENT.items()}
        cache[_CACHE] = Credentials(
            **values,
            from_environment=frozenset(f for f, name in ENVIRONMENT.items() if cfg[name]),
            unreadable=unreadable,
        )
    return cache[_CACHE]


def client(**options: Any) -> WooClient:
    """A REST client with the effective credentials (``WooError`` without them)."""
    found = effective()
    if not found.rest:
        raise WooError("the shop is not connected: enter its address and REST keys")
    return WooClient(found.store_url, found.key, found.secret, **options)


def forget() -> None:
    """Read the credentials again (after they changed)."""
    db.session.info.pop(_CACHE, None)
    current_app.extensions.pop("woocommerce.webhook_secret", None)


def save(store_url: str, key: str, secret: str) -> WooConnection:
    """Keep the shop's address and REST keys (flushed; the caller commits)."""
    stored = row(create=True)
    stored.store_url = store_url
    stored.consumer_key, stored.consumer_secret = encrypt(key), encrypt(secret)
    db.session.flush()
    forget()
    return stored


def ensure_webhook_secret() -> str:
    """The secret the shop's webhooks sign with: ``WOO_WEBHOOK_SECRET``, else the stored
    one, else a new random one, stored."""
    current = effective().webhook_secret
    if current:
        return current
    new = secrets.token_urlsafe(32)
    row(create=True).webhook_secret = encrypt(new)
    db.session.flush()
    forget()
    return new


def new_signin_secret(actor: User) -> str:
    """A new secret for the shop's sign-in assertions, stored in place of the old one (which
    stops working at once), audited without the secret. Flushed; the caller commits."""
    new = secrets.token_urlsafe(32)
    row(create=True).signin_secret = encrypt(new)
    audit.record(actor, "shop.signin_secret", "shop", "signin", after={"rotated": True})
    db.session.flush()
    forget()
    return new


def webhook_secret(refresh: bool = False) -> str:
    """The webhook secret for the receiver, which answers every delivery: kept in the
    process for ``SECRET_TTL`` seconds, read again at once when ``refresh``."""
    configured = current_app.config["WOO_WEBHOOK_SECRET"]
    if configured:
        return configured
    cached = current_app.extensions.get("woocommerce.webhook_secret")
    if refresh or cached is None or cached[0] < time.monotonic():
        db.session.info.pop(_CACHE, None)
        cached = (time.monotonic() + SECRET_TTL, effective().webhook_secret)
        current_app.extensions["woocommerce.webhook_secret"] = cached
    return cached[1]
