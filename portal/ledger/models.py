"""Ledger entries. Rows are only ever inserted: a guard in :mod:`portal.ledger.guard`
refuses ORM updates and deletes, and database triggers refuse SQL ones."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String
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


# Entries that change what a distributor earned (transfers only move money between buckets).
EARNING_KINDS = tuple(
    k.value for k in (EntryKind.ACCRUAL, EntryKind.ADJUSTMENT, EntryKind.BONUS, EntryKind.MANUAL)
)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __append_only__ = True  # portal.ledger.guard refuses updates and deletes

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
# With ``id`` last, "a distributor's entries after a checkpoint" is an index range per bucket
# (index-only for the balances and the per-day earnings after the checkpoint).
Index(
    "ix_ledger_entries_distributor_bucket_id",
    LedgerEntry.distributor_id,
    LedgerEntry.bucket,
    LedgerEntry.id,
    postgresql_include=["amount", "kind", "created_at"],
)
Index(
    "ix_ledger_entries_distributor_created",
    LedgerEntry.distributor_id,
    LedgerEntry.created_at,
    postgresql_include=["kind", "amount"],
)


class LedgerCheckpoint(db.Model):
    """The sum of one distributor's entries in one bucket with ``id <= upto_id``.

    A balance is the checkpoint plus the entries after it. Every row of a distributor
    carries the same ``upto_id`` (they are written together); checkpoints are derived
    data, rewritten by :func:`portal.ledger.services.write_checkpoints` and checked
    against the entries by :func:`portal.ledger.services.verify`.
    """

    __tablename__ = "ledger_checkpoints"

    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    upto_id: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerCheckpointDay(db.Model):
    """What a distributor earned (``EARNING_KINDS``) per UTC day, from the entries up to
    the distributor's checkpoint ``upto_id``: the dashboard's earnings per day are these
    plus the entries after it. Written and verified with the balance checkpoints."""

    __tablename__ = "ledger_checkpoint_days"

    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    earned: Mapped[Decimal] = mapped_column(Money)
