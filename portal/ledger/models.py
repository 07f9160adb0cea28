"""Ledger entries. Rows are only ever inserted: a guard in :mod:`portal.ledger.guard`
refuses ORM updates and deletes, and database triggers refuse SQL ones."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow


class Bucket(enum.StrEnum):
    """Where money sits: the commission states that hold money, plus money on its way out."""

    PENDING = "pending"
    HOLDING = "holding"
    AVAILABLE = "available"
    PAID = "paid"
    ON_REVIEW = "on_review"
    WITHDRAWING = "withdrawing"  # requested for withdrawal, not yet paid out
    CREDIT = "credit"  # taken as store credit: coupons in the shop, not yet spent


class EntryKind(enum.StrEnum):
    ACCRUAL = "accrual"  # first booking of a commission
    ADJUSTMENT = "adjustment"  # the order changed: a delta, positive or negative
    TRANSFER = "transfer"  # a state change: -x from one bucket, +x into another
    MANUAL = "manual"  # ops adjustment with a reason
    BONUS = "bonus"  # campaign rewards
    WITHDRAWAL = "withdrawal"  # available → withdrawing → paid (or back to available)
    CREDIT_BONUS = "credit_bonus"  # the bonus on store credit: + when issued, - when spent


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # distributor_id and created_at are served by the covering indexes below (every
    # query on them names the distributor): one index less to update per entry each.
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    bucket: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commissions.id"), index=True)
    reference: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Covering indexes: balances and earnings per period are index-only scans on PostgreSQL.
Index(
    "ix_ledger_entries_distributor_bucket",
    LedgerEntry.distributor_id,
    LedgerEntry.bucket,
    postgresql_include=["amount"],
)
Index(
    "ix_ledger_entries_distributor_created",
    LedgerEntry.distributor_id,
    LedgerEntry.created_at,
    postgresql_include=["kind", "amount"],
)
