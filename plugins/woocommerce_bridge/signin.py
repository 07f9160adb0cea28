"""Sign in with the shop account: the companion WordPress plugin's "Distributor centre"
link in My Account sends the signed-in customer to ``/woocommerce/signin?token=…`` with
a signed assertion, checked here before the core's :func:`welcome` takes over.

The assertion is a JWT (RFC 7519) signed with HS256 — HMAC-SHA256 with the shop's
sign-in secret (Admin → Shop) — ``base64url(header) "." base64url(claims) "."
base64url(HMAC(secret, header "." claims))``, with the claims:

==========  ===========================================================================
``iss``     the shop: its WordPress home URL (compared by host, port and path)
``sub``     the WooCommerce customer id
``email``   the customer's email; ``name`` their name; ``locale`` their WordPress locale
``iat``     issued at, ``exp`` expiry (Unix seconds; at most ``MAX_LIFETIME`` apart)
``jti``     a one-time nonce (16–64 of ``A-Za-z0-9_-``)
``ref``     optional: the referral code the shop remembered (``?ref=`` cookie)
==========  ===========================================================================

Checked in this order, each with its own answer: malformed, wrong shop, bad signature
(PyJWT, constant-time), expired (``SKEW`` seconds of clock difference allowed), used
before (the nonce's primary key in ``woo_signin_nonces``: one row per nonce, whichever web
worker sees it first wins).
"""

from __future__ import annotations

import enum
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, request
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.models import WooSigninNonce
from portal import i18n, transactions
from portal.distributors.shop_signin import ShopIdentity
from portal.extensions import db
from portal.join import shop_views
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("woocommerce_signin", __name__)

ALGORITHM = "HS256"
SKEW = 30  # seconds the shop's clock may differ
MAX_LIFETIME = 300  # seconds an assertion may be valid for (the plugin makes 120)
MAX_TOKEN = 4096
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_CUSTOMER = re.compile(r"[0-9]{1,20}")


class Refusal(enum.Enum):
    NOT_SET_UP = "not_set_up"
    MALFORMED = "malformed"
    WRONG_SHOP = "wrong_shop"
    TAMPERED = "tampered"
    EXPIRED = "expired"
    REPLAYED = "replayed"


class Refused(Exception):
    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason


def _messages() -> dict[Refusal, tuple[str, int]]:
    again = _("Go back to the shop and open Distributor centre in your account again.")
    return {
        Refusal.NOT_SET_UP: (_("Signing in with the shop account is not set up yet."), 403),
        Refusal.MALFORMED: (_("This sign-in link is damaged or incomplete.") + " " + again, 400),
        Refusal.WRONG_SHOP: (_("This sign-in link comes from another shop.") + " " + again, 403),
        Refusal.TAMPERED: (
            _("This sign-in link was changed or signed with another secret.") + " " + again,
            403,
        ),
        Refusal.EXPIRED: (
            _("This sign-in link has expired (it works for two minutes).") + " " + again,
            403,
        ),
        Refusal.REPLAYED: (_("This sign-in link was already used.") + " " + again, 403),
    }


def shop_key(url: str) -> str:
    """A shop's address as compared: host and port, lower case, and path (no scheme, no
    trailing slash) — ``https://Shop.example/`` and ``http://shop.example`` are one shop."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path.rstrip('/')}"


def _text(claims: dict[str, Any], name: str, limit: int, required: bool = True) -> str:
    value = claims.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise Refused(Refusal.MALFORMED, f"claim {name}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise Refused(Refusal.MALFORMED, f"claim {name} has control characters")
    return value.strip()


def _identity(claims: dict[str, Any]) -> ShopIdentity:
    customer = claims.get("sub")
    if isinstance(customer, int) and not isinstance(customer, bool):
        customer = str(customer)
    if not isinstance(customer, str) or not _CUSTOMER.fullmatch(customer):
        raise Refused(Refusal.MALFORMED, "claim sub")
    try:
        email = validate_email(_text(claims, "email", 254), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Refused(Refusal.MALFORMED, f"claim email: {exc}") from None
    name = _text(claims, "name", 200, required=False)
    ref = _text(claims, "ref", 16, required=False)
    return ShopIdentity(
        customer_id=customer,
        email=email.normalized.lower(),
        name=name[:80] or email.local_part[:80],
        locale=i18n.from_tag(_text(claims, "locale", 35, required=False)),
        ref=ref or None,
    )


def _spend(nonce: str, expires: datetime) -> None:
    savepoint = db.session.begin_nested()
    try:
        db.session.add(WooSigninNonce(nonce=nonce, expires_at=expires))
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise Refused(Refusal.REPLAYED, nonce) from None
    savepoint.commit()
    transactions.keep()  # spent even when the sign-in then fails


def verify(token: str) -> ShopIdentity:
    """The customer a good assertion names, its nonce spent (committed); else
    :class:`Refused` with the reason."""
    found = credentials.effective()
    if not found.signin_secret or not found.store_url:
        raise Refused(Refusal.NOT_SET_UP)
    if not token or len(token) > MAX_TOKEN:
        raise Refused(Refusal.MALFORMED, "length")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Refused(Refusal.MALFORMED, str(exc)) from None
    if header.get("alg") != ALGORITHM:
        raise Refused(Refusal.MALFORMED, f"alg {header.get('alg')!r}")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or shop_key(issuer) != shop_key(found.store_url):
        raise Refused(Refusal.WRONG_SHOP, f"{issuer!r} is not {found.store_url!r}")
    try:
        claims = jwt.decode(
            token,
            found.signin_secret,
            algorithms=[ALGORITHM],
            leeway=SKEW,
            options={"require": ["iss", "sub", "iat", "exp", "jti"], "verify_iat": True},
        )
    except jwt.InvalidSignatureError as exc:
        raise Refused(Refusal.TAMPERED, str(exc)) from None
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
        raise Refused(Refusal.EXPIRED, str(exc)) from None
    except jwt.PyJWTError as exc:
        raise Refused(Refusal.MALFORMED, str(exc)) from None
    issued, expires = claims["iat"], claims["exp"]
    if not (isinstance(issued, int) and isinstance(expires, int)) or expires <= issued:
        raise Refused(Refusal.MALFORMED, "iat/exp")
    if expires - issued > MAX_LIFETIME:
        raise Refused(Refusal.EXPIRED, f"valid for {expires - issued} s")
    nonce = claims["jti"]
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise Refused(Refusal.MALFORMED, "claim jti")
    identity = _identity(claims)
    _spend(nonce, datetime.fromtimestamp(expires, UTC) + timedelta(seconds=SKEW))
    return identity


def purge_nonces() -> int:
    """Periodic: nonces whose assertions have expired (a replay is refused as expired)."""
    removed = db.session.execute(
        delete(WooSigninNonce).where(WooSigninNonce.expires_at < utcnow())
    ).rowcount
    return removed or 0


@bp.get("/woocommerce/signin")
def signin() -> Any:
    """The shop's redirect: the token is checked, then the core signs in or offers to join
    or connect (each a redirect, so the token does not stay in the address bar)."""
    try:
        identity = verify(request.args.get("token", ""))
    except Refused as exc:
        log.warning("woocommerce: shop sign-in refused: %s", exc)
        message, status = _messages()[exc.reason]
        return shop_views.refused(message, status)
    return shop_views.welcome(identity)
