"""Account rules: creating and inviting users, signing in with throttling, choosing and
resetting passwords, ending sessions, unlocking and deactivating accounts."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from portal import jobs
from portal.accounts import passwords, signals, throttle, tokens
from portal.accounts.models import (
    NO_PASSWORD,
    STAFF_ROLES,
    AccountToken,
    Role,
    TokenPurpose,
    User,
)
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.timeutil import utcnow

# Compared against when the email is unknown, so a miss costs as much as a wrong password
# and response time does not reveal which emails have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ServiceError):
    """A rule of accounts was broken (sign-in, sign-up, passwords, links)."""


class EmailTaken(AccountError):
    """The email is another account's (by default said so, on the ``email`` field)."""

    def __init__(self, message: str | None = None, field: str | None = None) -> None:
        super().__init__(
            message or _("An account with this email already exists."), field or "email"
        )


class InvalidCredentials(AccountError):
    """No account has this email and password (the message does not say which is wrong)."""


class LoginThrottled(AccountError):
    """Too many attempts; ``retry_after`` is how long until the next one may succeed."""

    def __init__(self, message: str, field: str | None = None, *, retry_after: timedelta) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


class InvalidLink(AccountError):
    """A reset, invitation or unlock link that is forged, used, expired or unknown."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def keyed_hash(value: str) -> str:
    """Keyed hash (the app's secret) of a client address or user agent: throttling and
    risk rules need equality, not the value, so the value itself is never stored."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def hash_ip(ip: str | None) -> str:
    return keyed_hash(ip or "unknown")


def send_links() -> None:
    """Email the account links just committed (in-process without Redis, else a job)."""
    from portal.accounts.mail import deliver_account_emails

    jobs.enqueue(deliver_account_emails, queue=jobs.BACKGROUND, timeout=300)


def email_exists(email: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(User.email == normalise_email(email))) is not None
    )


def check_password_policy(
    password: str, email: str, names: Iterable[str] = (), field: str = "password"
) -> None:
    """Raise :class:`AccountError` on ``field`` when the policy refuses ``password``."""
    problem = passwords.problem(password, email, names)
    if problem:
        raise AccountError(problem, field=field)


def create_user(
    email: str,
    password: str | None,
    role: Role,
    locale: str | None = None,
    names: Iterable[str] = (),
) -> User:
    """Add a user to the session (not committed). Raises :class:`EmailTaken`, or
    :class:`AccountError` for a password the policy refuses. Without a password the user
    cannot sign in until they choose one through an invitation or reset link."""
    email = normalise_email(email)
    if email_exists(email):
        raise EmailTaken()
    user = User(email=email, role=role, locale=locale, password_hash=NO_PASSWORD)
    if password is not None:
        check_password_policy(password, email, names)
        user.set_password(password)
    db.session.add(user)
    return user


def invite(user: User) -> AccountToken:
    """An invitation link for a user added without a password (the caller commits, then
    calls :func:`send_links`)."""
    return tokens.issue(user, TokenPurpose.INVITE)


def invite_staff(actor: User, email: str, role: Role) -> User:
    """An admin adds an admin or ops user, who gets a set-your-password invitation.
    Commits."""
    if role not in STAFF_ROLES:
        raise AccountError(_("Choose admin or ops."), field="role")
    user = create_user(email, None, role)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request took the email in the meantime
        db.session.rollback()
        raise EmailTaken() from None
    invite(user)
    signals.audited.send(
        actor,
        action="user.invite",
        target_type="user",
        target_id=user.id,
        after={"email": user.email, "role": role.value},
    )
    db.session.commit()
    send_links()
    return user


def staff_query() -> Select[tuple[User]]:
    return select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.email)


def authenticate(email: str, password: str, ip: str | None, user_agent: str = "") -> User:
    """Return the user for a correct email/password, recording failures.

    While this address must wait even a correct password is refused (and the attempt is
    not counted), otherwise throttling would not stop a guessing attack. The failure that
    starts the waits emails the owner an unlock link. A success clears the failures of
    this account from this address.
    """
    email = normalise_email(email)
    ip_hash = hash_ip(ip)
    policy = throttle.ThrottlePolicy.from_config()
    wait = throttle.login_wait(email, ip_hash, policy)
    if wait is not None:
        raise LoginThrottled(_("Too many failed attempts. Try again later."), retry_after=wait)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.has_password:
        check_password_hash(_DUMMY_HASH, password)
    if user is None or not user.check_password(password) or not user.active:
        starts_waits = throttle.record_failure(email, ip_hash, policy)
        unlock = (
            starts_waits
            and user is not None
            and user.active
            and not tokens.live(user, TokenPurpose.UNLOCK)
        )
        if unlock:
            assert user is not None
            tokens.issue(user, TokenPurpose.UNLOCK)
        db.session.commit()
        if unlock:
            send_links()
        raise InvalidCredentials(_("Email or password is incorrect."))
    throttle.clear(email, ip_hash)
    user.last_login_at = utcnow()
    signals.signed_in.send(user, ip_hash=ip_hash, ua_hash=keyed_hash(user_agent))
    db.session.commit()
    return user


def remember_locale(user: User, locale: str) -> None:
    """The language the person chose on the page they signed in on becomes their
    profile's (it is the newer choice). Commits."""
    if user.locale != locale:
        user.locale = locale
        db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    """Every other session of the user ends (the caller signs this one in again)."""
    if not user.check_password(current):
        raise AccountError(_("Current password is incorrect."), field="current_password")
    check_password_policy(new, user.email, _names(user), field="new_password")
    user.set_password(new)
    user.end_sessions()
    tokens.retire(user, TokenPurpose.RESET, TokenPurpose.INVITE)
    db.session.commit()


def end_sessions(user: User) -> None:
    """Sign out everywhere: every session and remember-me cookie of the user. Commits."""
    user.end_sessions()
    db.session.commit()


def request_reset(email: str, ip: str | None) -> None:
    """A "forgot password" request: emails a reset link when the email has an active
    account, and does and answers the same otherwise (the caller shows one page for
    both). Raises :class:`LoginThrottled` past the per-address or per-email limit."""
    email = normalise_email(email)
    if not throttle.reset_allowed(email, hash_ip(ip)):
        raise LoginThrottled(
            _("Too many reset requests. Try again later."), retry_after=timedelta(hours=1)
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and user.active:
        tokens.issue(user, TokenPurpose.RESET)
    db.session.commit()
    send_links()


def _token(signed: str, purpose: TokenPurpose) -> AccountToken:
    token = tokens.find(signed, purpose)
    if token is None:
        raise InvalidLink(_("This link is invalid, was already used or has expired."))
    return token


def _spend(token: AccountToken) -> User:
    if not tokens.use(token):  # a second request with the same link got there first
        db.session.rollback()
        raise InvalidLink(_("This link is invalid, was already used or has expired."))
    user = db.session.get(User, token.user_id)
    assert user is not None
    return user


def link_user(signed: str, purpose: TokenPurpose) -> User:
    """The user a usable link belongs to, else :class:`InvalidLink`."""
    user = db.session.get(User, _token(signed, purpose).user_id)
    assert user is not None
    return user


def _names(user: User) -> list[str]:
    return [name for _receiver, names in signals.names_asked.send(user) for name in names]


def set_password_from_link(signed: str, purpose: TokenPurpose, password: str) -> User:
    """Choose a password through a reset or invitation link: the link is used up, every
    session ends, other reset and invitation links die and the sign-in throttle of the
    account is cleared (the person proved they read its email). Commits."""
    token = _token(signed, purpose)
    owner = db.session.get(User, token.user_id)
    assert owner is not None
    check_password_policy(password, owner.email, _names(owner))
    user = _spend(token)
    user.set_password(password)
    user.end_sessions()
    tokens.retire(user, TokenPurpose.RESET, TokenPurpose.INVITE)
    throttle.clear(user.email)
    db.session.commit()
    return user


def unlock(signed: str) -> User:
    """The unlock link: the account's failed sign-ins from every address are forgotten.
    Commits."""
    user = _spend(_token(signed, TokenPurpose.UNLOCK))
    throttle.clear(user.email)
    db.session.commit()
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    """An admin deactivates a staff account (its sessions end at once) or reactivates it.
    Commits."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound(_("No such staff account."))
    if user.id == actor.id:
        raise AccountError(_("You cannot deactivate your own account."))
    if user.active != active:
        user.active = active
        user.end_sessions()
        signals.audited.send(
            actor,
            action="user.activate" if active else "user.deactivate",
            target_type="user",
            target_id=user.id,
            before={"active": not active},
            after={"active": active},
        )
        db.session.commit()
    return user


def purge_old_login_failures(older_than: timedelta | None = None) -> int:
    """Periodic housekeeping: failed sign-ins and reset requests outside any window (by
    default, older than the throttle remembers failures)."""
    removed = throttle.purge(older_than or current_app.config["PORTAL_LOGIN_MEMORY"])
    db.session.commit()
    return removed
