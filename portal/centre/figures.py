"""The numbers a distributor's dashboard shows, each a sum over the ledger, orders or
clicks (never a stored total), so they always agree with the statement.

Several periods are answered by one query per table (conditional sums over the span that
covers them all); on PostgreSQL each of those reads a covering index only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger import services as ledger
from portal.links.models import Click
from portal.orders.models import Order
from portal.periods import Period
from portal.risk import qualifying
from portal.timeutil import as_date, utc_date

ZERO = Decimal(0)


@dataclass(frozen=True)
class PeriodFigures:
    sales: Decimal  # qualifying orders' goods after refunds (portal.risk.qualifying)
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


@dataclass
class Series:
    """A distributor's orders, sales, earnings and clicks per UTC day over ``span``: three
    grouped queries, from which every day-aligned period inside the span is summed (the
    dashboard's months, its last 30 days, its chart and the level window at once)."""

    span: Period
    orders: dict[date, int]
    sales: dict[date, Decimal]
    earned: dict[date, Decimal]
    clicks: dict[date, int]

    def _days(self, period: Period) -> list[date]:
        if not (self.span.start <= period.start and period.end <= self.span.end):
            raise ValueError("period outside the series")
        return [
            period.first_day + timedelta(days=n) for n in range((period.end - period.start).days)
        ]

    def figures(self, period: Period) -> PeriodFigures:
        days = self._days(period)
        return PeriodFigures(
            sales=sum((self.sales.get(d, ZERO) for d in days), ZERO),
            orders=sum(self.orders.get(d, 0) for d in days),
            earned=sum((self.earned.get(d, ZERO) for d in days), ZERO),
            clicks=sum(self.clicks.get(d, 0) for d in days),
        )

    def points(self, period: Period) -> list[DayPoint]:
        return [
            DayPoint(d, self.sales.get(d, ZERO), self.earned.get(d, ZERO))
            for d in self._days(period)
        ]


def series(distributor_id: int, span: Period) -> Series:
    day = utc_date(Order.created_at_shop)
    orders: dict[date, int] = {}
    sales: dict[date, Decimal] = {}
    for d, count, total in db.session.execute(
        select(day, func.count(), func.sum(Order.net_total))
        .where(
            Order.distributor_id == distributor_id,
            _within(Order.created_at_shop, span),
            *qualifying.conditions(),
        )
        .group_by(day)
    ):
        orders[as_date(d)] = count
        sales[as_date(d)] = Decimal(total) + ZERO
    return Series(
        span,
        orders,
        sales,
        ledger.earned_per_day(distributor_id, span.start, span.end),
        _per_day(
            Click.created_at,
            func.count(),
            [Click.distributor_id == distributor_id, _within(Click.created_at, span)],
            int,
        ),
    )


def _per_day(moment: Any, aggregate: Any, where: list[Any], kind: type) -> dict[date, Any]:
    day = utc_date(moment)
    rows = db.session.execute(select(day, aggregate).where(*where).group_by(day))
    return {as_date(d): kind(value) + kind(0) for d, value in rows}


def period_figures(distributor_id: int, period: Period) -> PeriodFigures:
    """One day-aligned period on its own."""
    return series(distributor_id, period).figures(period)


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
