"""User accounts, the one-use links emailed to them, and the records used for throttling."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from portal.columns import str_enum
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPS = "ops"
    DISTRIBUTOR = "distributor"


STAFF_ROLES = frozenset({Role.ADMIN, Role.OPS})
# Stored instead of a hash until an invited person chooses a password: it is no valid
# werkzeug hash, so no password ever matches it.
NO_PASSWORD = "!"  # noqa: S105 - a marker, not a password


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        str_enum(Role),
        index=True,
    )
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id every session and remember-me cookie carries (see get_id): raising
    # it ends all of them at once (sign out everywhere, new password, deactivation).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return self.has_password and check_password_hash(self.password_hash, password)

    @property
    def has_password(self) -> bool:
        return self.password_hash != NO_PASSWORD

    def end_sessions(self) -> None:
        """Every cookie issued so far names the old version and stops working."""
        self.session_version = (self.session_version or 0) + 1

    def get_id(self) -> str:
        """Flask-Login keeps this in the session and signs it into the remember cookie."""
        return f"{self.id}:{self.session_version or 0}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginFailure(db.Model):
    """One failed login. Counted per (account, hashed client address) and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ResetRequest(db.Model):
    """One "forgot password" request, kept whether or not the email has an account, so
    the throttle (per address, per email) answers the same for both."""

    __tablename__ = "reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TokenPurpose(enum.StrEnum):
    RESET = "reset"  # forgot password
    INVITE = "invite"  # an account added by staff: choose your password
    UNLOCK = "unlock"  # sign-in throttled: clear it


class AccountToken(db.Model):
    """A one-use link emailed to a user. The link carries the row id and ``nonce`` signed
    with the secret key, so neither a database reader nor a guesser can make one; using
    it sets ``used_at`` once. The row is also the email's outbox (``emailed_at``)."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose))
    nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_account_tokens_emailed_at", AccountToken.emailed_at)
# The admin distributor search matches e-mail addresses anywhere (a trigram index on
# PostgreSQL, a plain one on SQLite: see the migration d18c3e4f5a51).
Index(
    "ix_users_email_trgm",
    User.email,
    postgresql_using="gin",
    postgresql_ops={"email": "gin_trgm_ops"},
)
