"""Risk flags on orders. While a flag is open the order's commissions sit ``on_review``;
ops release it (commission flows on) or reject it (commission reversed)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.columns import str_enum
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class FlagStatus(enum.StrEnum):
    OPEN = "open"
    RELEASED = "released"
    REJECTED = "rejected"


class RiskFlag(db.Model):
    __tablename__ = "risk_flags"
    __table_args__ = (UniqueConstraint("order_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    rule: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[FlagStatus] = mapped_column(
        str_enum(FlagStatus), default=FlagStatus.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)


class LoginDevice(db.Model):
    """Where a user signs in from, as keyed hashes (no raw address or user agent): the
    "same device" rule compares an order's buyer with the distributor's own devices."""

    __tablename__ = "login_devices"
    __table_args__ = (UniqueConstraint("user_id", "ip_hash", "ua_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ip_hash: Mapped[str] = mapped_column(String(64), index=True)
    ua_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
