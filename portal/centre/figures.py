"""The numbers a distributor's dashboard shows, each a sum over the ledger, orders or
clicks (never a stored total), so they always agree with the statement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from portal.centre.periods import Period
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger.models import EntryKind, LedgerEntry
from portal.links.models import Click
from portal.orders.models import VOID_STATUSES, Order, OrderLine

ZERO = Decimal(0)
# Entries that change what a distributor earned (transfers only move money between buckets).
EARNING_KINDS = (EntryKind.ACCRUAL.value, EntryKind.ADJUSTMENT.value, EntryKind.BONUS.value)


@dataclass(frozen=True)
class PeriodFigures:
    sales: Decimal  # attributed orders, net of line refunds
    orders: int
    earned: Decimal  # commission and bonuses booked, net of reversals
    clicks: int

    @property
    def conversion(self) -> Decimal | None:
        """Orders per click in percent, one decimal; ``None`` without clicks."""
        if not self.clicks:
            return None
        return (Decimal(self.orders) * 100 / self.clicks).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class DayPoint:
    day: date
    sales: Decimal
    earned: Decimal


def _attributed(distributor_id: int, period: Period) -> tuple[ColumnElement[bool], ...]:
    return (
        Order.distributor_id == distributor_id,
        Order.created_at_shop >= period.start,
        Order.created_at_shop < period.end,
        Order.status.not_in(VOID_STATUSES),
    )


def _earning_entries(distributor_id: int, period: Period) -> tuple[ColumnElement[bool], ...]:
    return (
        LedgerEntry.distributor_id == distributor_id,
        LedgerEntry.kind.in_(EARNING_KINDS),
        LedgerEntry.created_at >= period.start,
        LedgerEntry.created_at < period.end,
    )


def period_figures(distributor_id: int, period: Period) -> PeriodFigures:
    orders = db.session.scalar(
        select(func.count(Order.id)).where(*_attributed(distributor_id, period))
    )
    sales = db.session.scalar(
        select(func.sum(OrderLine.total - OrderLine.refunded_total))
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_attributed(distributor_id, period))
    )
    earned = db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(*_earning_entries(distributor_id, period))
    )
    clicks = db.session.scalar(
        select(func.count(Click.id)).where(
            Click.distributor_id == distributor_id,
            Click.created_at >= period.start,
            Click.created_at < period.end,
        )
    )
    return PeriodFigures(
        sales=Decimal(sales or 0), orders=orders or 0, earned=Decimal(earned or 0), clicks=clicks
    )


def daily(distributor_id: int, period: Period) -> list[DayPoint]:
    """Sales and earnings per UTC day of ``period`` (days without any are zero).

    Bucketed in Python: SQL date functions differ between SQLite and PostgreSQL and
    depend on the session time zone; a distributor's rows in 90 days are few.
    """
    sales: dict[date, Decimal] = defaultdict(Decimal)
    earned: dict[date, Decimal] = defaultdict(Decimal)
    for created, amount in db.session.execute(
        select(Order.created_at_shop, OrderLine.total - OrderLine.refunded_total)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*_attributed(distributor_id, period))
    ):
        sales[created.date()] += Decimal(amount)
    for created, amount in db.session.execute(
        select(LedgerEntry.created_at, LedgerEntry.amount).where(
            *_earning_entries(distributor_id, period)
        )
    ):
        earned[created.date()] += Decimal(amount)
    days = (period.end - period.start).days
    return [
        DayPoint(day, sales.get(day, ZERO), earned.get(day, ZERO))
        for day in (period.first_day + timedelta(days=n) for n in range(days))
    ]


def maturing(distributor_id: int, limit: int = 5) -> list[tuple[date, Decimal]]:
    """Holding money by the day it becomes available, soonest first."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for hold_until, amount in db.session.execute(
        select(Commission.hold_until, Commission.amount).where(
            Commission.beneficiary_id == distributor_id,
            Commission.state == CommissionState.HOLDING,
        )
    ):
        if hold_until is not None:
            totals[hold_until.date()] += Decimal(amount)
    return sorted(totals.items())[:limit]


def month_change(this: Decimal, last: Decimal) -> Decimal | None:
    """Percent change from last month; ``None`` when last month was zero."""
    if last == ZERO:
        return None
    return ((this - last) * 100 / abs(last)).quantize(Decimal("0.1"))
