"""Secrets kept in the database, encrypted: Fernet with a key derived from ``SECRET_KEY``
by HKDF, one key per purpose (``info``), so the database alone does not give a secret away
and a changed ``SECRET_KEY`` makes the stored values unreadable (``InvalidToken``) rather
than wrong. Used for the shop's credentials and the PayPal client secret."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet"]


def fernet(info: bytes) -> Fernet:
    """The Fernet of ``info`` under the app's ``SECRET_KEY`` (cached per app and key)."""
    key = current_app.config["SECRET_KEY"]
    cache = current_app.extensions.setdefault("portal.fernet", {})
    cached = cache.get(info)
    if cached is None or cached[0] != key:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            key.encode()
        )
        cached = (key, Fernet(base64.urlsafe_b64encode(derived)))
        cache[info] = cached
    return cached[1]


def encrypt(text: str, info: bytes) -> str:
    return fernet(info).encrypt(text.encode()).decode()


def decrypt(token: str, info: bytes) -> str:
    """Raises ``InvalidToken`` when ``SECRET_KEY`` changed since it was stored."""
    return fernet(info).decrypt(token.encode()).decode()
