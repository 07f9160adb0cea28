"""Notifications shown under /me/notifications."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.columns import str_enum
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class NotificationKind(enum.StrEnum):
    APPROVED = "approved"
    COMMISSION_AVAILABLE = "commission_available"
    WITHDRAWAL_PAID = "withdrawal_paid"
    WITHDRAWAL_RETURNED = "withdrawal_returned"  # a payout failed: the money is back
    LEVEL_UP = "level_up"
    CAMPAIGN_WON = "campaign_won"
    NEW_MATERIAL = "new_material"
    ORDER_COMMISSION = "order_commission"  # an order of theirs earns them commission
    TEAM_SALE = "team_sale"  # a team member's order earns them commission
    APPLICATION_REJECTED = "application_rejected"
    WITHDRAWAL_REJECTED = "withdrawal_rejected"


class Notification(db.Model):
    """One message to one distributor. ``params`` fill the kind's text when it is shown,
    so it reads in the reader's language; ``emailed_at`` is the email outbox."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(str_enum(NotificationKind))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Makes an event announced at most once (e.g. "level_up:12:3"); NULL = no dedupe.
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# The badge counts (distributor, unread).
Index("ix_notifications_distributor_read", Notification.distributor_id, Notification.read_at)
Index("ix_notifications_emailed_at", Notification.emailed_at)
