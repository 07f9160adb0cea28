"""Report figures over a date range, from grouped queries only (no per-row lookups), so
the page runs the same statements at ten distributors or a hundred thousand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.links.models import Click
from portal.orders.models import VOID_STATUSES, Order
from portal.periods import Period
from portal.risk import qualifying
from portal.timeutil import as_date, utc_date

ZERO = Decimal(0)


@dataclass(frozen=True)
class Kpis:
    gmv: Decimal  # attributed orders' goods after refunds
    orders: int
    qualifying_gmv: Decimal  # the part of it that counts for incentives (risk.qualifying)
    qualifying_orders: int
    clicks: int
    commissions: dict[str, Decimal]  # by state, for orders placed in the range
    active: int  # active distributors now
    recruits: int  # distributors who joined in the range

    @property
    def conversion(self) -> Decimal | None:
        if not self.clicks:
            return None
        return (Decimal(self.orders) * 100 / self.clicks).quantize(Decimal("0.1"))


def _sold(period: Period) -> tuple[Any, ...]:
    return (
        Order.distributor_id.is_not(None),
        Order.created_at_shop >= period.start,
        Order.created_at_shop < period.end,
        Order.status.not_in(VOID_STATUSES),
    )


def _earned(period: Period) -> tuple[Any, ...]:
    return (
        Commission.order_created_at >= period.start,
        Commission.order_created_at < period.end,
    )


@dataclass(frozen=True)
class Day:
    day: date
    gmv: Decimal
    commission: Decimal  # not reversed


@dataclass(frozen=True)
class Ranked:
    distributor: Distributor
    orders: int
    sales: Decimal
    commission: Decimal  # what the distributor earned at any depth in the range


@dataclass(frozen=True)
class LevelRow:
    name: str
    distributors: int  # active now
    sales: Decimal
    commission: Decimal


@dataclass(frozen=True)
class Report:
    kpis: Kpis
    days: list[Day]
    top: list[Ranked]
    levels: list[LevelRow]


def report(period: Period, top: int = 10) -> Report:
    """Everything on the reports page for ``period``.

    The cost is in reading the range's orders, commissions and clicks, so each is read
    as few times as possible, each time from one index that starts with the date (and,
    on PostgreSQL, covers the columns read): one pass per UTC day over the orders (GMV
    and order KPIs, the sales series), one per (day, state) over the commissions
    (commission KPIs and series), one count of the clicks, and the ranking."""
    day = utc_date(Order.created_at_shop)
    counts = qualifying.qualifies()
    sold = db.session.execute(
        select(
            day,
            func.count(),
            func.sum(Order.net_total),
            func.count().filter(counts),
            func.sum(Order.net_total).filter(counts),
        )
        .where(*_sold(period))
        .group_by(day)
    ).all()
    cday = utc_date(Commission.order_created_at)
    earned = db.session.execute(
        select(cday, Commission.state, func.sum(Commission.amount))
        .where(*_earned(period))
        .group_by(cday, Commission.state)
    ).all()
    clicks = db.session.scalar(
        select(func.count()).where(Click.created_at >= period.start, Click.created_at < period.end)
    )
    people = db.session.execute(
        select(
            Distributor.level_id,
            func.count(Distributor.id).filter(Distributor.status == DistributorStatus.ACTIVE),
            func.count(Distributor.id).filter(
                Distributor.joined_at >= period.start, Distributor.joined_at < period.end
            ),
        ).group_by(Distributor.level_id)
    ).all()

    gmv_by_day = {as_date(d): Decimal(total) + ZERO for d, _, total, _, _ in sold}
    by_state = dict.fromkeys((s.value for s in CommissionState), ZERO)
    commission_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for d, state, total in earned:
        by_state[state.value] += Decimal(total)
        if state != CommissionState.REVERSED:
            commission_by_day[as_date(d)] += Decimal(total)
    members = {level_id: active for level_id, active, _ in people}
    kpis = Kpis(
        sum(gmv_by_day.values(), ZERO),
        sum(row[1] for row in sold),
        sum((Decimal(row[4] or 0) for row in sold), ZERO) + ZERO,
        sum(row[3] for row in sold),
        clicks,
        by_state,
        sum(members.values()),
        sum(recruits for _, _, recruits in people),
    )
    days = [
        Day(d, gmv_by_day.get(d, ZERO), commission_by_day.get(d, ZERO))
        for d in (
            period.first_day + timedelta(days=n) for n in range((period.end - period.start).days)
        )
    ]
    commission = sum(commission_by_day.values(), ZERO)
    return Report(kpis, days, ranked(period, top), _levels(period, members, kpis.gmv, commission))


def _levels(
    period: Period, members: dict[int | None, int], sales: Decimal, commission: Decimal
) -> list[LevelRow]:
    """Per level (and "no level"): active distributors, their sales and commission.

    The range's totals are known, so the level with the most members (usually holding
    most of the sales) gets the remainder, and only the other levels' distributors are
    read — through their own indexes, not by scanning the whole range again."""
    largest = max(members, key=lambda level_id: members[level_id], default=None)
    others = Distributor.level_id.is_distinct_from(largest)
    sales_by_level = dict(
        db.session.execute(
            select(Distributor.level_id, func.sum(Order.net_total))
            .join(Order, Order.distributor_id == Distributor.id)
            .where(others, *_sold(period))
            .group_by(Distributor.level_id)
        ).all()
    )
    commission_by_level = dict(
        db.session.execute(
            select(Distributor.level_id, func.sum(Commission.amount))
            .join(Commission, Commission.beneficiary_id == Distributor.id)
            .where(others, *_earned(period), Commission.state != CommissionState.REVERSED)
            .group_by(Distributor.level_id)
        ).all()
    )
    sales_by_level = {k: Decimal(v) + ZERO for k, v in sales_by_level.items()}
    commission_by_level = {k: Decimal(v) + ZERO for k, v in commission_by_level.items()}
    sales_by_level[largest] = sales - sum(sales_by_level.values(), ZERO)
    commission_by_level[largest] = commission - sum(commission_by_level.values(), ZERO)
    levels = db.session.execute(select(Level.id, Level.name).order_by(Level.rank)).all()
    return [
        LevelRow(
            name,
            members.get(level_id, 0),
            sales_by_level.get(level_id, ZERO),
            commission_by_level.get(level_id, ZERO),
        )
        for level_id, name in [(None, ""), *levels]
        if level_id is not None or members.get(None) or sales_by_level.get(None)
    ]


def _sales(period: Period) -> Select[Any]:
    """Attributed orders and sales per distributor in the range."""
    return (
        select(
            Order.distributor_id.label("distributor_id"),
            func.count().label("orders"),
            func.sum(Order.net_total).label("sales"),
        )
        .where(*_sold(period))
        .group_by(Order.distributor_id)
    )


def _not_reversed_earnings(period: Period) -> Select[Any]:
    """What each beneficiary earned in the range (add a filter, then group)."""
    return select(Commission.beneficiary_id, func.sum(Commission.amount).label("amount")).where(
        *_earned(period), Commission.state != CommissionState.REVERSED
    )


def ranked(period: Period, limit: int) -> list[Ranked]:
    """The ``limit`` best sellers of the range, with what each earned in it. The limit
    applies to the grouped sales, so only the distributors shown are read."""
    best = (
        _sales(period)
        .order_by(func.sum(Order.net_total).desc(), Order.distributor_id)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        select(Distributor, best.c.orders, best.c.sales)
        .join(best, best.c.distributor_id == Distributor.id)
        .options(joinedload(Distributor.level))
        .order_by(best.c.sales.desc(), Distributor.id)
    ).all()
    earned = dict(
        db.session.execute(
            _not_reversed_earnings(period)
            .where(Commission.beneficiary_id.in_([row[0].id for row in rows]))
            .group_by(Commission.beneficiary_id)
        ).all()
    )
    return [
        Ranked(d, orders, Decimal(sales) + ZERO, Decimal(earned.get(d.id) or 0) + ZERO)
        for d, orders, sales in rows
    ]


@dataclass(frozen=True)
class ExportRow:
    code: str
    name: str
    level: str | None
    orders: int
    sales: Decimal
    commission: Decimal


def export_rows(period: Period) -> Iterator[ExportRow]:
    """Every distributor with sales in the range, best first (as on the page), as one
    streamed query of plain columns: pages by OFFSET would rank the whole range again
    for every page, and loading 100,000 ORM objects costs more than the query."""
    sales = _sales(period).subquery()
    earned = _not_reversed_earnings(period).group_by(Commission.beneficiary_id).subquery()
    query = (
        select(
            Distributor.code,
            Distributor.display_name,
            Level.name,
            sales.c.orders,
            sales.c.sales,
            earned.c.amount,
        )
        .join(sales, sales.c.distributor_id == Distributor.id)
        .outerjoin(Level, Level.id == Distributor.level_id)
        .outerjoin(earned, earned.c.beneficiary_id == Distributor.id)
        .order_by(sales.c.sales.desc(), Distributor.id)
        .execution_options(yield_per=500)
    )
    for code, name, level, orders, total, commission in db.session.execute(query):
        yield ExportRow(
            code, name, level, orders, Decimal(total) + ZERO, Decimal(commission or 0) + ZERO
        )
