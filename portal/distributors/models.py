"""Distributor and Level models."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.columns import str_enum
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow


class DistributorStatus(enum.StrEnum):
    APPLIED = "applied"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


class DistributorRole(enum.StrEnum):
    AFFILIATE = "affiliate"
    GROUP_LEADER = "group_leader"
    AGENT = "agent"


class Level(db.Model):
    """A rank with its own commission rates and automatic-upgrade criteria.

    Rates are percentages per depth (1 = the distributor's own sale); ``None`` means
    "use the role's plan default". Criteria of ``None`` are not required.
    """

    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int] = mapped_column(unique=True)
    rate_depth1: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    rate_depth2: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    rate_depth3: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    min_personal_sales: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    min_team_size: Mapped[int | None]
    min_orders: Mapped[int | None]
    window_days: Mapped[int | None]

    def __repr__(self) -> str:
        return f"<Level {self.rank} {self.name}>"


class Distributor(db.Model):
    __tablename__ = "distributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    # A readable code the distributor chose once (creators: ``/r/AMYBEAUTY``); links with
    # it resolve to the same distributor, and the shop still sees ``code``.
    vanity_code: Mapped[str | None] = mapped_column(String(16), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(80))
    status: Mapped[DistributorStatus] = mapped_column(
        str_enum(DistributorStatus), default=DistributorStatus.APPLIED, index=True
    )
    role: Mapped[DistributorRole] = mapped_column(
        str_enum(DistributorRole), default=DistributorRole.AFFILIATE, index=True
    )
    level_id: Mapped[int | None] = mapped_column(ForeignKey("levels.id"), index=True)
    # Indexed with ``id`` below: the team list pages through a parent's members by id.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    shop_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    application_note: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)
    # The distributor terms they accepted on the join page: when, and the SHA-256 of the
    # exact text (every text ops saved is in the audit log), so the terms can be proven.
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terms_version: Mapped[str | None] = mapped_column(String(64))
    # The distributor's own notification settings (/me/notifications/settings).
    notify_commission: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_team_sale: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Members 1, 2 and 3 levels below, kept by :mod:`portal.centre.team` as the tree
    # changes, so a team's counts never scan the team.
    team_size_1: Mapped[int] = mapped_column(default=0, server_default="0")
    team_size_2: Mapped[int] = mapped_column(default=0, server_default="0")
    team_size_3: Mapped[int] = mapped_column(default=0, server_default="0")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    level: Mapped[Level | None] = relationship()
    parent: Mapped[Distributor | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Distributor {self.code} {self.status}>"


Index("ix_distributors_parent_id_id", Distributor.parent_id, Distributor.id)
# The admin search (ILIKE '%…%'): a trigram index on PostgreSQL (the migration's note).
Index(
    "ix_distributors_display_name_trgm",
    Distributor.display_name,
    postgresql_using="gin",
    postgresql_ops={"display_name": "gin_trgm_ops"},
)


class ShopAccount(db.Model):
    """A distributor's customer account in the shop, *proven* theirs: made when someone
    signed in to the shop joined through its "Distributor centre" link, or confirmed with
    the portal password. Only this signs anyone in with the shop account — never an email
    match, nor ``Distributor.shop_customer_id`` alone, which a lookup by email may have set
    (the shop does not verify its customers' emails)."""

    __tablename__ = "shop_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    distributor: Mapped[Distributor] = relationship()


class PersonalCoupon(db.Model):
    """A distributor's personal coupon in the shop; using it attributes the order to them.

    The row is what the coupon *should* be — its terms, and ``active`` (it works while its
    distributor is active) — and whether the shop has it so (``synced``). The portal
    changes the row and the shop plugin pushes every row that is not synced, recording
    why the shop refused in ``last_error`` and trying again later: the shop being down
    never loses a suspension."""

    __tablename__ = "distributor_coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    shop_coupon_id: Mapped[str | None] = mapped_column(String(32))  # None: not in the shop yet
    percent: Mapped[str] = mapped_column(String(16))
    usage_limit: Mapped[int | None]  # uses in all; None: no limit
    usage_limit_per_user: Mapped[int | None]
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    synced: Mapped[bool] = mapped_column(default=False, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    distributor: Mapped[Distributor] = relationship()


class AdjustmentState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AdjustmentRequest(db.Model):
    """A manual adjustment above the approval threshold, waiting for a second staff
    member (maker-checker). It is not money: the ledger entry is booked only when someone
    other than the maker approves it. Decided once, by a conditional UPDATE."""

    __tablename__ = "adjustment_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(100))
    state: Mapped[AdjustmentState] = mapped_column(
        str_enum(AdjustmentState), default=AdjustmentState.PENDING, index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)  # why it was rejected

    distributor: Mapped[Distributor] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
