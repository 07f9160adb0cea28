"""Account rules: creating users, authenticating with throttling, changing passwords."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts.models import LoginFailure, Role, User
from portal.extensions import db
from portal.timeutil import utcnow

MIN_PASSWORD_LENGTH = 8
# Compared against when the email is unknown, so a miss costs as much as a wrong password
# and response time does not reveal which emails have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(Exception):
    """A rule was broken; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class EmailTaken(AccountError):
    pass


class InvalidCredentials(AccountError):
    pass


class LoginThrottled(AccountError):
    def __init__(self, message: str, retry_after: timedelta) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    per_account: int
    per_ip: int
    window: timedelta

    @classmethod
    def from_config(cls) -> ThrottlePolicy:
        cfg = current_app.config
        return cls(
            per_account=cfg["PORTAL_LOGIN_MAX_FAILURES_PER_ACCOUNT"],
            per_ip=cfg["PORTAL_LOGIN_MAX_FAILURES_PER_IP"],
            window=timedelta(minutes=cfg["PORTAL_LOGIN_WINDOW_MINUTES"]),
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def keyed_hash(value: str) -> str:
    """Keyed hash (the app's secret) of a client address or user agent: throttling and
    risk rules need equality, not the value, so the value itself is never stored."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def hash_ip(ip: str | None) -> str:
    return keyed_hash(ip or "unknown")


def _remember_device(user: User, ip: str | None, user_agent: str) -> None:
    from portal.risk.models import LoginDevice

    ip_hash, ua_hash = hash_ip(ip), keyed_hash(user_agent)
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


def email_exists(email: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(User.email == normalise_email(email))) is not None
    )


def create_user(email: str, password: str, role: Role, locale: str | None = None) -> User:
    """Add a user to the session (not committed). Raises :class:`EmailTaken`."""
    email = normalise_email(email)
    if email_exists(email):
        raise EmailTaken(_("An account with this email already exists."), field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="password"
        )
    user = User(email=email, role=role, locale=locale)
    user.set_password(password)
    db.session.add(user)
    return user


def _failures_since(column: object, value: str, since: datetime) -> tuple[int, datetime | None]:
    count, first = db.session.execute(
        select(func.count(LoginFailure.id), func.min(LoginFailure.created_at)).where(
            column == value, LoginFailure.created_at >= since
        )
    ).one()
    if first is not None and first.tzinfo is None:  # SQLite aggregates lose the zone
        first = first.replace(tzinfo=utcnow().tzinfo)
    return count, first


def check_throttle(email: str, ip: str | None, policy: ThrottlePolicy | None = None) -> None:
    """Raise :class:`LoginThrottled` when the account or the address failed too often."""
    policy = policy or ThrottlePolicy.from_config()
    now = utcnow()
    since = now - policy.window
    for column, value, limit in (
        (LoginFailure.email, normalise_email(email), policy.per_account),
        (LoginFailure.ip_hash, hash_ip(ip), policy.per_ip),
    ):
        count, first = _failures_since(column, value, since)
        if count >= limit and first is not None:
            raise LoginThrottled(
                _("Too many failed attempts. Try again later."),
                retry_after=max(first + policy.window - now, timedelta(seconds=1)),
            )


def authenticate(email: str, password: str, ip: str | None, user_agent: str = "") -> User:
    """Return the user for a correct email/password, recording failures.

    While throttled even a correct password is refused, otherwise throttling would not stop
    a guessing attack. A success clears the account's failure count (not the address's).
    """
    email = normalise_email(email)
    check_throttle(email, ip)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
    if user is None or not user.check_password(password) or not user.active:
        db.session.add(LoginFailure(email=email, ip_hash=hash_ip(ip)))
        db.session.commit()
        raise InvalidCredentials(_("Email or password is incorrect."))
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = utcnow()
    _remember_device(user, ip, user_agent)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError(_("Current password is incorrect."), field="current_password")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field="new_password"
        )
    user.set_password(new)
    db.session.commit()


def purge_old_login_failures(older_than: timedelta = timedelta(days=1)) -> int:
    """Periodic housekeeping: failures outside any throttle window are useless."""
    result = db.session.execute(
        delete(LoginFailure).where(LoginFailure.created_at < utcnow() - older_than)
    )
    db.session.commit()
    return result.rowcount or 0
