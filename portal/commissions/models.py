"""Commission plans (per distributor role), their overrides, and commissions."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.columns import str_enum
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.orders.models import Order

Percent = Numeric(7, 4)


class CommissionState(enum.StrEnum):
    PENDING = "pending"
    HOLDING = "holding"
    AVAILABLE = "available"
    PAID = "paid"
    ON_REVIEW = "on_review"
    REVERSED = "reversed"


class CommissionPlan(db.Model):
    __tablename__ = "commission_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20), unique=True)
    max_depth: Mapped[int] = mapped_column(default=1)
    rate_depth1: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    rate_depth2: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    rate_depth3: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    basis: Mapped[str] = mapped_column(String(10), default="product")
    cap_percent: Mapped[Decimal | None] = mapped_column(Percent)
    network_sale_days: Mapped[int | None]
    # Subscription renewals: the rate (None: renewals earn nothing) and for how many
    # renewals / months after the original order (None: no limit).
    renewal_rate: Mapped[Decimal | None] = mapped_column(Percent)
    renewal_limit: Mapped[int | None]
    renewal_months: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    overrides: Mapped[list[PlanOverride]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanOverride.id"
    )
    exclusions: Mapped[list[PlanExclusion]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanExclusion.id"
    )


class PlanOverride(db.Model):
    """A rate for one product or category at one depth: percent, or fixed per unit."""

    __tablename__ = "plan_overrides"
    __table_args__ = (UniqueConstraint("plan_id", "scope", "target_id", "depth"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("commission_plans.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10))  # product | category
    target_id: Mapped[str] = mapped_column(String(64))
    depth: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))  # percent | fixed
    value: Mapped[Decimal] = mapped_column(Money)

    plan: Mapped[CommissionPlan] = relationship(back_populates="overrides")


class PlanExclusion(db.Model):
    __tablename__ = "plan_exclusions"
    __table_args__ = (UniqueConstraint("plan_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("commission_plans.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))

    plan: Mapped[CommissionPlan] = relationship(back_populates="exclusions")


class PlanVersion(db.Model):
    """A plan's content as orders froze it (see :mod:`portal.commissions.context`): stored
    once per distinct content, found by its digest, never changed — an order's context
    names its version instead of carrying a copy of the plan."""

    __tablename__ = "commission_plan_versions"
    __append_only__ = True  # portal.ledger.guard refuses updates and deletes

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Commission(db.Model):
    """One per order × beneficiary × depth. ``amount`` is what the engine last decided;
    the money itself is in the ledger, where the entries of a commission sum to it."""

    __tablename__ = "commissions"
    __table_args__ = (UniqueConstraint("order_id", "beneficiary_id", "depth"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every row pays for every index on insert: order_id is served by the unique key,
    # beneficiary_id and state by the composite indexes below (all lead with them).
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    depth: Mapped[int]
    state: Mapped[CommissionState] = mapped_column(str_enum(CommissionState))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[Decimal] = mapped_column(Money)
    rate: Mapped[Decimal | None] = mapped_column(Percent)
    fixed: Mapped[Decimal | None] = mapped_column(Money)
    rule_id: Mapped[str] = mapped_column(String(120))
    zero_reason: Mapped[str | None] = mapped_column(String(32))
    review_reason: Mapped[str | None] = mapped_column(Text)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Copies of the order's date and seller (the distributor it is attributed to), so a
    # statement pages by one index and a team page sums what each member produced
    # without visiting the orders. Both are fixed once the order exists.
    order_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seller_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    events: Mapped[list[CommissionEvent]] = relationship(order_by="CommissionEvent.id")
    order: Mapped[Order] = relationship()


Index("ix_commissions_state_hold_until", Commission.state, Commission.hold_until)
# hold_until and amount too: the dashboard's maturing sums read the index alone.
Index(
    "ix_commissions_beneficiary_state_hold",
    Commission.beneficiary_id,
    Commission.state,
    Commission.hold_until,
    postgresql_include=["amount"],
)
Index(
    "ix_commissions_beneficiary_order_created",
    Commission.beneficiary_id,
    Commission.order_created_at,
    postgresql_include=["state", "seller_id", "amount"],
)
# Covering: the admin reports sum a date range's commissions per day and state from the
# index alone.
Index(
    "ix_commissions_order_created",
    Commission.order_created_at,
    postgresql_include=["state", "amount"],
)


class CommissionEvent(db.Model):
    """State history of a commission (append-only), shown to distributors and ops."""

    __tablename__ = "commission_events"
    __append_only__ = True  # portal.ledger.guard refuses updates and deletes

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commissions.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
