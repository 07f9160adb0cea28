"""Store credit: a coupon in the shop, one row per coupon (see :mod:`portal.withdrawals.credit`).

A withdrawal taken as store credit gets one coupon; when an order spends it, the unspent
rest becomes a new coupon (``parent_id`` names the one it came from), so a withdrawal's
credit is a chain of rows of which at most one is live. The row's value (``amount`` =
``principal`` + ``bonus``) never changes; only its state moves on, and ``synced`` says
whether the shop already matches it (created for a pending one, deleted for a redeemed or
revoked one).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.columns import str_enum
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow


class CreditState(enum.StrEnum):
    PENDING = "pending"  # stored; the shop may not have the coupon yet
    ISSUED = "issued"  # the shop has it: spendable
    REDEEMED = "redeemed"  # an order spent it (a remainder is a new row)
    REVOKED = "revoked"  # taken back: its withdrawal was rejected or reversed


class StoreCredit(db.Model):
    __tablename__ = "store_credits"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawals.id"), index=True)
    # The coupon this one is the unspent rest of (None: the withdrawal's first coupon).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("store_credits.id"), unique=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # lower case, as the shop keeps it
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)  # the coupon's value
    principal: Mapped[Decimal] = mapped_column(Money)  # of it, the distributor's own money
    bonus: Mapped[Decimal] = mapped_column(Money)  # of it, the bonus for taking credit
    email: Mapped[str] = mapped_column(String(254))  # the only shop customer who may use it
    state: Mapped[CreditState] = mapped_column(
        str_enum(CreditState), default=CreditState.PENDING, index=True
    )
    synced: Mapped[bool] = mapped_column(default=False, index=True)
    shop_coupon_id: Mapped[str | None] = mapped_column(String(32))
    shop_order_id: Mapped[str | None] = mapped_column(String(64))  # the order that spent it
    used: Mapped[Decimal | None] = mapped_column(Money)  # what that order took
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # redeemed or revoked
