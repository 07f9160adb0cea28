"""The devices people sign in from (keyed hashes only), which the screening rules compare
with the buyers' devices. Recorded on every password sign-in through
:data:`portal.accounts.signals.signed_in`, connected by :func:`install` at start-up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.accounts import signals
from portal.accounts.models import User
from portal.extensions import db
from portal.risk.models import LoginDevice
from portal.timeutil import utcnow


def remember_device(user: User, *, ip_hash: str, ua_hash: str, **_: Any) -> None:
    """A new device row, or the known one's ``last_seen`` moved to now (flushed by the
    sign-in's commit)."""
    device = db.session.scalar(
        select(LoginDevice).where(
            LoginDevice.user_id == user.id,
            LoginDevice.ip_hash == ip_hash,
            LoginDevice.ua_hash == ua_hash,
        )
    )
    if device is None:
        db.session.add(LoginDevice(user_id=user.id, ip_hash=ip_hash, ua_hash=ua_hash))
    else:
        device.last_seen = utcnow()


def install() -> None:
    """Listen to sign-ins (idempotent: blinker connects a receiver once)."""
    signals.signed_in.connect(remember_device)
