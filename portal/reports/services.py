"""Report figures over a date range. Each is one grouped query (no per-row lookups), so
the page costs the same at ten distributors or a hundred thousand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from portal.centre.periods import Period
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.links.models import Click
from portal.orders.models import VOID_STATUSES, Order
from portal.timeutil import as_date, utc_date

ZERO = Decimal(0)


@dataclass(frozen=True)
class Kpis:
    gmv: Decimal  # attributed orders' goods after refunds
    orders: int
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


def kpis(period: Period) -> Kpis:
    orders, gmv = db.session.execute(
        select(func.count(Order.id), func.sum(Order.net_total)).where(*_sold(period))
    ).one()
    by_state = dict.fromkeys((s.value for s in CommissionState), ZERO)
    for state, total in db.session.execute(
        select(Commission.state, func.sum(Commission.amount))
        .where(*_earned(period))
        .group_by(Commission.state)
    ):
        by_state[state.value] = Decimal(total) + ZERO
    clicks = db.session.scalar(
        select(func.count()).where(Click.created_at >= period.start, Click.created_at < period.end)
    )
    active = db.session.scalar(
        select(func.count()).where(Distributor.status == DistributorStatus.ACTIVE)
    )
    recruits = db.session.scalar(
        select(func.count()).where(
            Distributor.joined_at >= period.start, Distributor.joined_at < period.end
        )
    )
    return Kpis(Decimal(gmv or 0) + ZERO, orders, clicks, by_state, active, recruits)


@dataclass(frozen=True)
class Day:
    day: date
    gmv: Decimal
    commission: Decimal


def daily(period: Period) -> list[Day]:
    """GMV and commission (not reversed) per UTC day of the range."""
    day = utc_date(Order.created_at_shop)
    gmv = {
        as_date(d): Decimal(v) + ZERO
        for d, v in db.session.execute(
            select(day, func.sum(Order.net_total)).where(*_sold(period)).group_by(day)
        )
    }
    cday = utc_date(Commission.order_created_at)
    commission = {
        as_date(d): Decimal(v) + ZERO
        for d, v in db.session.execute(
            select(cday, func.sum(Commission.amount))
            .where(*_earned(period), Commission.state != CommissionState.REVERSED)
            .group_by(cday)
        )
    }
    days = (period.end - period.start).days
    return [
        Day(d, gmv.get(d, ZERO), commission.get(d, ZERO))
        for d in (period.first_day + timedelta(days=n) for n in range(days))
    ]


@dataclass(frozen=True)
class Ranked:
    distributor: Distributor
    orders: int
    sales: Decimal
    commission: Decimal  # what the distributor earned at any depth in the range


def ranking_query(period: Period) -> Select[Any]:
    """Distributors by attributed sales in the range, best first."""
    sales = (
        select(
            Order.distributor_id.label("distributor_id"),
            func.count(Order.id).label("orders"),
            func.sum(Order.net_total).label("sales"),
        )
        .where(*_sold(period))
        .group_by(Order.distributor_id)
        .subquery()
    )
    return (
        select(Distributor, sales.c.orders, sales.c.sales)
        .join(sales, sales.c.distributor_id == Distributor.id)
        .order_by(sales.c.sales.desc(), Distributor.id)
    )


def ranked(period: Period, limit: int | None = 10, offset: int = 0) -> list[Ranked]:
    rows = db.session.execute(ranking_query(period).limit(limit).offset(offset)).all()
    ids = [row[0].id for row in rows]
    earned = dict(
        db.session.execute(
            select(Commission.beneficiary_id, func.sum(Commission.amount))
            .where(
                *_earned(period),
                Commission.beneficiary_id.in_(ids),
                Commission.state != CommissionState.REVERSED,
            )
            .group_by(Commission.beneficiary_id)
        ).all()
    )
    return [
        Ranked(d, orders, Decimal(sales) + ZERO, Decimal(earned.get(d.id) or 0) + ZERO)
        for d, orders, sales in rows
    ]


@dataclass(frozen=True)
class LevelRow:
    name: str
    distributors: int
    sales: Decimal
    commission: Decimal


def by_level(period: Period) -> list[LevelRow]:
    """Per level (and "no level"): active distributors, their sales and commission."""
    members = dict(
        db.session.execute(
            select(Distributor.level_id, func.count())
            .where(Distributor.status == DistributorStatus.ACTIVE)
            .group_by(Distributor.level_id)
        ).all()
    )
    sales = dict(
        db.session.execute(
            select(Distributor.level_id, func.sum(Order.net_total))
            .join(Distributor, Distributor.id == Order.distributor_id)
            .where(*_sold(period))
            .group_by(Distributor.level_id)
        ).all()
    )
    commission = dict(
        db.session.execute(
            select(Distributor.level_id, func.sum(Commission.amount))
            .join(Distributor, Distributor.id == Commission.beneficiary_id)
            .where(*_earned(period), Commission.state != CommissionState.REVERSED)
            .group_by(Distributor.level_id)
        ).all()
    )
    levels = [(lv.id, lv.name) for lv in db.session.scalars(select(Level).order_by(Level.rank))]
    return [
        LevelRow(
            name,
            members.get(level_id, 0),
            Decimal(sales.get(level_id) or 0) + ZERO,
            Decimal(commission.get(level_id) or 0) + ZERO,
        )
        for level_id, name in [(None, ""), *levels]
        if level_id is not None or members.get(None) or sales.get(None)
    ]
