"""Campaigns, their tiers and prizes, and the awards booked when they close."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.columns import str_enum
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow


class CampaignMetric(enum.StrEnum):
    RECRUITS = "recruits"
    ORDERS = "orders"
    SALES = "sales"
    NEW_CUSTOMERS = "new_customers"


class CampaignState(enum.StrEnum):
    """open → closing (the award job owns it) → closed. ``closing`` survives a crash, so
    the next run finishes the awards."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    metric: Mapped[CampaignMetric] = mapped_column(str_enum(CampaignMetric))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Empty lists mean "every role" / "every level".
    eligible_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible_level_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[CampaignState] = mapped_column(
        str_enum(CampaignState), default=CampaignState.OPEN, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tiers: Mapped[list[CampaignTier]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignTier.target"
    )
    prizes: Mapped[list[CampaignPrize]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignPrize.rank"
    )

    def as_audit(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric.value,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "state": self.state.value,
        }


class CampaignTier(db.Model):
    """Reaching ``target`` of the metric earns ``bonus``; every tier reached pays."""

    __tablename__ = "campaign_tiers"
    __table_args__ = (UniqueConstraint("campaign_id", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    target: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    bonus: Mapped[Decimal] = mapped_column(Money)

    campaign: Mapped[Campaign] = relationship(back_populates="tiers")


class CampaignPrize(db.Model):
    """The leaderboard prize for ``rank`` (1 = first place)."""

    __tablename__ = "campaign_prizes"
    __table_args__ = (UniqueConstraint("campaign_id", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    rank: Mapped[int]
    bonus: Mapped[Decimal] = mapped_column(Money)

    campaign: Mapped[Campaign] = relationship(back_populates="prizes")


class AwardState(enum.StrEnum):
    HOLDING = "holding"  # booked, waiting for the return window (portal.campaigns.settlement)
    AVAILABLE = "available"  # matured
    REVERSED = "reversed"  # worth nothing with today's figures


class CampaignAward(db.Model):
    """One bonus booked. ``award_key`` is ``tier:<target>`` or ``rank:<n>``; the unique
    key makes a second booking of the same award impossible. ``amount`` is what the
    ledger holds for it, changed only in the same transaction as the entries that move
    it (portal.campaigns.settlement)."""

    __tablename__ = "campaign_awards"
    __table_args__ = (UniqueConstraint("campaign_id", "distributor_id", "award_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    award_key: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 4))  # the metric, last worked out
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[AwardState] = mapped_column(str_enum(AwardState), default=AwardState.HOLDING)
    matures_at: Mapped[datetime] = mapped_column(UTCDateTime())
