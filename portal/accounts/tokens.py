"""One-use account links: password reset, invitation, unlock.

A link is ``[row id, nonce]`` signed with the secret key (itsdangerous), so the outbox job
can write it again from the row and nothing secret is stored. It is good once, until its
row's expiry, and only for the purpose it was made for.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select, update

from portal.accounts.models import AccountToken, TokenPurpose, User
from portal.extensions import db
from portal.timeutil import utcnow

_SALT = "portal.account-token"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def lifetime(purpose: TokenPurpose) -> timedelta:
    return current_app.config[f"PORTAL_{purpose.name}_TOKEN_AGE"]


def issue(user: User, purpose: TokenPurpose) -> AccountToken:
    """A new link for ``user`` in the current transaction (the caller commits; the
    outbox job then emails it)."""
    now = utcnow()
    token = AccountToken(
        user_id=user.id,
        purpose=purpose,
        nonce=secrets.token_hex(16),
        created_at=now,
        expires_at=now + lifetime(purpose),
    )
    db.session.add(token)
    db.session.flush()
    return token


def live(user: User, purpose: TokenPurpose) -> bool:
    """Whether ``user`` already has an unused, unexpired link for ``purpose``."""
    return (
        db.session.scalar(
            select(AccountToken.id)
            .where(
                AccountToken.user_id == user.id,
                AccountToken.purpose == purpose,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > utcnow(),
            )
            .limit(1)
        )
        is not None
    )


def sign(token: AccountToken) -> str:
    return str(_serializer().dumps([token.id, token.nonce]))


def find(signed: str, purpose: TokenPurpose) -> AccountToken | None:
    """The usable token a link names, or ``None`` (forged, unknown, for another purpose,
    used, expired, or its user deactivated)."""
    try:
        token_id, nonce = _serializer().loads(signed)
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(token_id, int) or not isinstance(nonce, str):
        return None
    token = db.session.get(AccountToken, token_id)
    if (
        token is None
        or not hmac.compare_digest(token.nonce, nonce)
        or token.purpose is not purpose
        or token.used_at is not None
        or token.expires_at <= utcnow()
    ):
        return None
    user = db.session.get(User, token.user_id)
    return token if user is not None and user.active else None


def use(token: AccountToken) -> bool:
    """Mark the token used with one compare-and-set UPDATE: of two requests using the same
    link at once exactly one gets True (the caller commits)."""
    result = db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.id == token.id,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def retire(user: User, *purposes: TokenPurpose) -> None:
    """Every outstanding link of ``user`` for ``purposes`` stops working (a password was
    just chosen: older reset and invitation links must not choose another)."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
