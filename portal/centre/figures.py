"""The numbers a distributor's dashboard shows, each a sum over the ledger, orders or
clicks (never a stored total), so they always agree with the statement.

Several periods are answered by one query per table (conditional sums over the span that
covers them all); on PostgreSQL each of those reads a covering index only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from portal.centre.periods import Period
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger.models import EntryKind, LedgerEntry
from portal.links.models import Click
from portal.orders.models import VOID_STATUSES, Order
from portal.timeutil import as_date, utc_date

ZERO = Decimal(0)
# Entries that change what a distributor earned (transfers only move money between buckets).
EARNING_KINDS = tuple(
    k.value for k in (EntryKind.ACCRUAL, EntryKind.ADJUSTMENT, EntryKind.BONUS, EntryKind.MANUAL)
)


@dataclass(frozen=True)
class PeriodFigures:
    sales: Decimal  # attributed orders' goods after refunds (Order.net_total)
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


def _within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _span(periods: Sequence[Period]) -> Period:
    return Period(min(p.start for p in periods), max(p.end for p in periods))


def _sums(query_columns: list[Any], table_filter: list[Any]) -> list[Any]:
    return list(db.session.execute(select(*query_columns).where(*table_filter)).one())


def figures(distributor_id: int, periods: Sequence[Period]) -> list[PeriodFigures]:
    """Sales, orders, earnings and clicks for each period: three queries in all."""
    span = _span(periods)
    order_row = _sums(
        [
            column
            for p in periods
            for column in (
                func.count(case((_within(Order.created_at_shop, p), 1))),
                func.sum(case((_within(Order.created_at_shop, p), Order.net_total))),
            )
        ],
        [
            Order.distributor_id == distributor_id,
            _within(Order.created_at_shop, span),
            Order.status.not_in(VOID_STATUSES),
        ],
    )
    earned_row = _sums(
        [func.sum(case((_within(LedgerEntry.created_at, p), LedgerEntry.amount))) for p in periods],
        [
            LedgerEntry.distributor_id == distributor_id,
            _within(LedgerEntry.created_at, span),
            LedgerEntry.kind.in_(EARNING_KINDS),
        ],
    )
    click_row = _sums(
        [func.count(case((_within(Click.created_at, p), 1))) for p in periods],
        [Click.distributor_id == distributor_id, _within(Click.created_at, span)],
    )
    return [
        PeriodFigures(
            sales=Decimal(order_row[2 * i + 1] or 0) + ZERO,
            orders=order_row[2 * i],
            earned=Decimal(earned_row[i] or 0) + ZERO,
            clicks=click_row[i],
        )
        for i in range(len(periods))
    ]


def period_figures(distributor_id: int, period: Period) -> PeriodFigures:
    return figures(distributor_id, [period])[0]


def daily(distributor_id: int, period: Period) -> list[DayPoint]:
    """Sales and earnings per UTC day of ``period`` (days without any are zero)."""
    sales = _by_day(
        Order.created_at_shop,
        Order.net_total,
        [
            Order.distributor_id == distributor_id,
            _within(Order.created_at_shop, period),
            Order.status.not_in(VOID_STATUSES),
        ],
    )
    earned = _by_day(
        LedgerEntry.created_at,
        LedgerEntry.amount,
        [
            LedgerEntry.distributor_id == distributor_id,
            _within(LedgerEntry.created_at, period),
            LedgerEntry.kind.in_(EARNING_KINDS),
        ],
    )
    days = (period.end - period.start).days
    return [
        DayPoint(day, sales.get(day, ZERO), earned.get(day, ZERO))
        for day in (period.first_day + timedelta(days=n) for n in range(days))
    ]


def _by_day(moment: Any, amount: Any, where: list[Any]) -> dict[date, Decimal]:
    day = utc_date(moment)
    rows = db.session.execute(select(day, func.sum(amount)).where(*where).group_by(day))
    return {as_date(d): Decimal(total) + ZERO for d, total in rows}


def maturing(distributor_id: int, limit: int = 5) -> list[tuple[date, Decimal]]:
    """Holding money by the day it becomes available, soonest first."""
    day = utc_date(Commission.hold_until)
    rows = db.session.execute(
        select(day, func.sum(Commission.amount))
        .where(
            Commission.beneficiary_id == distributor_id,
            Commission.state == CommissionState.HOLDING,
            Commission.hold_until.is_not(None),
        )
        .group_by(day)
        .order_by(day)
        .limit(limit)
    )
    return [(as_date(d), Decimal(total) + ZERO) for d, total in rows]


def month_change(this: Decimal, last: Decimal) -> Decimal | None:
    """Percent change from last month; ``None`` when last month was zero."""
    if last == ZERO:
        return None
    return ((this - last) * 100 / abs(last)).quantize(Decimal("0.1"))
