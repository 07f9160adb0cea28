"""WooCommerce webhook signatures: base64(HMAC-SHA256(secret, raw body))."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check over the raw bytes, before anything parses them (compared as
    bytes: a header with non-ASCII characters is a mismatch, not an error)."""
    if not secret or not signature:
        return False
    given = signature.strip().encode("utf-8", errors="replace")
    return hmac.compare_digest(sign(secret, body).encode(), given)
