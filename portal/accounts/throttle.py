"""Login and reset-request throttling, counted in the database (so every web worker sees
the same counts).

Sign-in failures are counted per (account, client address) and per address, never per
account alone: someone guessing from elsewhere can slow down only their own address, never
lock the owner out. Past a number of free failures each further one doubles the wait,
up to a ceiling; a success clears the pair, the unlock link clears the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from portal.accounts.models import LoginFailure, ResetRequest
from portal.extensions import db
from portal.timeutil import utcnow

_MAX_DOUBLINGS = 30  # 2**30 × any first delay is past every ceiling


@dataclass(frozen=True)
class ThrottlePolicy:
    free_per_account: int  # failures of one account from one address before waits start
    free_per_ip: int  # failures from one address, on any accounts
    first_delay: timedelta
    max_delay: timedelta
    memory: timedelta  # failures older than this are forgotten

    @classmethod
    def from_config(cls) -> ThrottlePolicy:
        cfg = current_app.config
        return cls(
            free_per_account=cfg["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"],
            free_per_ip=cfg["PORTAL_LOGIN_FREE_FAILURES_PER_IP"],
            first_delay=cfg["PORTAL_LOGIN_FIRST_DELAY"],
            max_delay=cfg["PORTAL_LOGIN_MAX_DELAY"],
            memory=cfg["PORTAL_LOGIN_MEMORY"],
        )

    def delay(self, failures: int, free: int) -> timedelta | None:
        """The wait after the last of ``failures``: none while they are free, then the
        first delay, doubling with each further failure, never above the ceiling."""
        if failures < free:
            return None
        doublings = min(failures - free, _MAX_DOUBLINGS)
        return min(self.first_delay * 2**doublings, self.max_delay)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite aggregates lose the zone
        value = value.replace(tzinfo=utcnow().tzinfo)
    return value


def _count(model: Any, since: datetime, *conditions: Any) -> tuple[int, datetime | None]:
    count, last = db.session.execute(
        select(func.count(model.id), func.max(model.created_at)).where(
            model.created_at >= since, *conditions
        )
    ).one()
    return count, _aware(last)


def login_wait(email: str, ip_hash: str, policy: ThrottlePolicy) -> timedelta | None:
    """How long this address must still wait before trying this account, if at all."""
    now = utcnow()
    since = now - policy.memory
    waits = []
    for conditions, free in (
        ((LoginFailure.email == email, LoginFailure.ip_hash == ip_hash), policy.free_per_account),
        ((LoginFailure.ip_hash == ip_hash,), policy.free_per_ip),
    ):
        count, last = _count(LoginFailure, since, *conditions)
        delay = policy.delay(count, free)
        if delay is not None and last is not None and last + delay > now:
            waits.append(last + delay - now)
    return max(waits, default=None)


def record_failure(email: str, ip_hash: str, policy: ThrottlePolicy) -> bool:
    """Add a failure (the caller commits); True when it is the one that starts the waits
    for this account from this address (the moment to email the owner an unlock link)."""
    db.session.add(LoginFailure(email=email, ip_hash=ip_hash))
    db.session.flush()
    count, _last = _count(
        LoginFailure,
        utcnow() - policy.memory,
        LoginFailure.email == email,
        LoginFailure.ip_hash == ip_hash,
    )
    return count == policy.free_per_account


def clear(email: str, ip_hash: str | None = None) -> None:
    """Forget the account's failures: from one address (a success there), or from all of
    them (the unlock link, a password reset)."""
    query = delete(LoginFailure).where(LoginFailure.email == email)
    if ip_hash is not None:
        query = query.where(LoginFailure.ip_hash == ip_hash)
    db.session.execute(query)


def reset_allowed(email: str, ip_hash: str) -> bool:
    """Whether another "forgot password" request may go out now (per address and per
    email, within the last hour); an allowed one is recorded (the caller commits)."""
    cfg = current_app.config
    since = utcnow() - timedelta(hours=1)
    by_ip, _ = _count(ResetRequest, since, ResetRequest.ip_hash == ip_hash)
    by_email, _ = _count(ResetRequest, since, ResetRequest.email == email)
    if by_ip >= cfg["PORTAL_RESET_MAX_PER_IP"] or by_email >= cfg["PORTAL_RESET_MAX_PER_EMAIL"]:
        return False
    db.session.add(ResetRequest(email=email, ip_hash=ip_hash))
    return True


def purge(older_than: timedelta) -> int:
    """Housekeeping: rows older than any window are useless."""
    removed = 0
    for model in (LoginFailure, ResetRequest):
        result = db.session.execute(delete(model).where(model.created_at < utcnow() - older_than))
        removed += result.rowcount or 0
    return removed
