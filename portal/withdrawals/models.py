"""Payout accounts and withdrawal requests.

A request moves its amount from the distributor's ``available`` bucket into
``withdrawing``; paying moves it on to ``paid``, rejecting moves it back.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.columns import str_enum
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow


class PayoutMethod(enum.StrEnum):
    BANK = "bank"
    PAYPAL = "paypal"
    ALIPAY = "alipay"
    WECHAT = "wechat"
    STORE_CREDIT = "store_credit"  # a coupon in the shop (portal.withdrawals.credit)


class WithdrawalState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    REVERSED = "reversed"  # paid as store credit, then taken back (what was left of it)


class PayoutAccount(db.Model):
    """Where a distributor wants to be paid. ``account`` is the IBAN / account number,
    PayPal email, Alipay or WeChat id; pages only ever show it masked."""

    __tablename__ = "payout_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    method: Mapped[PayoutMethod] = mapped_column(str_enum(PayoutMethod))
    holder_name: Mapped[str] = mapped_column(String(120))
    account: Mapped[str] = mapped_column(String(120))
    bank_name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Withdrawal(db.Model):
    __tablename__ = "withdrawals"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    payout_account_id: Mapped[int] = mapped_column(ForeignKey("payout_accounts.id"), index=True)
    state: Mapped[WithdrawalState] = mapped_column(
        str_enum(WithdrawalState), default=WithdrawalState.REQUESTED, index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)  # leaves the available balance
    fee: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)  # what is sent: amount - fee
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(120))

    payout_account: Mapped[PayoutAccount] = relationship()


Index("ix_withdrawals_distributor_requested", Withdrawal.distributor_id, Withdrawal.requested_at)


class StatementKind(enum.StrEnum):
    PAYOUT = "payout"  # what a paid withdrawal covered
    MONTH = "month"  # a calendar month (UTC) of the distributor's available balance


class Statement(db.Model):
    """A numbered statement (self-billing invoice) of a distributor. Numbers run 1, 2, 3 …
    across all distributors without gaps: one is taken only in the transaction that
    commits the statement. The PDF is drawn again from the append-only ledger whenever it
    is downloaded, so it never changes for a closed period."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("distributor_id", "kind", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    kind: Mapped[StatementKind] = mapped_column(str_enum(StatementKind))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    withdrawal_id: Mapped[int | None] = mapped_column(ForeignKey("withdrawals.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    withdrawal: Mapped[Withdrawal | None] = relationship()


class PayPalBatchState(enum.StrEnum):
    UNKNOWN = "unknown"  # stored; sent or about to be, PayPal's answer not (yet) known
    SENT = "sent"  # PayPal has it (payout_batch_id known); its items are being paid
    REFUSED = "refused"  # PayPal refused the request: nothing was created, nothing paid
    CLOSED = "closed"  # every item is final (paid, returned), or PayPal denied the batch


class PayPalBatch(db.Model):
    """One PayPal Payouts request, stored before it is sent. ``sender_batch_id`` is the
    idempotency key PayPal honours for 30 days: every retry sends the same one, so PayPal
    answers with the batch it already has instead of paying again."""

    __tablename__ = "paypal_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[PayPalBatchState] = mapped_column(
        str_enum(PayPalBatchState), default=PayPalBatchState.UNKNOWN, index=True
    )
    payout_batch_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    batch_status: Mapped[str | None] = mapped_column(String(20))  # PayPal's, e.g. PENDING
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Money)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)  # POSTs made
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)  # PayPal's last error, for ops

    items: Mapped[list[PayPalItem]] = relationship(back_populates="batch", order_by="PayPalItem.id")


class PayPalItem(db.Model):
    """One withdrawal in a PayPal batch. ``claim`` is the withdrawal's id while PayPal may
    still pay it or has paid it, and NULL once it is released (returned, failed, batch
    refused or denied): its unique index makes sure no withdrawal is in two live batches,
    even when two people click at once."""

    __tablename__ = "paypal_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("paypal_batches.id"), index=True)
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawals.id"), index=True)
    claim: Mapped[int | None] = mapped_column(ForeignKey("withdrawals.id"), unique=True)
    sender_item_id: Mapped[str] = mapped_column(String(64))
    recipient_type: Mapped[str] = mapped_column(String(10))  # EMAIL | PHONE
    receiver: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    payout_item_id: Mapped[str | None] = mapped_column(String(64), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    transaction_status: Mapped[str | None] = mapped_column(String(20))  # PayPal's
    error_code: Mapped[str | None] = mapped_column(String(64))  # PayPal's errors.name
    final: Mapped[bool] = mapped_column(default=False)
    # PayPal took the money back after the withdrawal was paid (REVERSED, REFUNDED):
    # nothing is booked automatically; ops decide (a manual adjustment).
    attention: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    batch: Mapped[PayPalBatch] = relationship(back_populates="items")


class PayPalEvent(db.Model):
    """A PayPal webhook event, stored (after its signature was verified) before it is
    acknowledged, once per event id; a job applies it."""

    __tablename__ = "paypal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(80))
    resource: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
