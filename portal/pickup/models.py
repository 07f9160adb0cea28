"""Community group leaders' pickup points (社群团长自提点) and the hand-overs there."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.columns import str_enum
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class PointStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for ops (again after every change)
    APPROVED = "approved"  # offered at checkout
    REJECTED = "rejected"


class PickupPoint(db.Model):
    """One per leader. A change sends it back to review: the shop offers only what ops
    approved."""

    __tablename__ = "pickup_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(300))
    hours: Mapped[str] = mapped_column(String(200))
    status: Mapped[PointStatus] = mapped_column(
        str_enum(PointStatus), default=PointStatus.PENDING, index=True
    )
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    distributor: Mapped[Distributor] = relationship()


class Handover(db.Model):
    """An order handed to its buyer at the pickup point (once; undone by deleting)."""

    __tablename__ = "pickup_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"))
    handed_over_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


Index("ix_pickup_handovers_point", Handover.point_id)


class GroupRound(db.Model):
    """A group-buy round (团购): a set of products leaders share until a deadline; when it
    closes each leader orders from the shop what their group bought."""

    __tablename__ = "group_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    product_ids: Mapped[list[str]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # One leader's round, or every leader's (None).
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at
