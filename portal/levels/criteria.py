"""The level rule: where a distributor stands against a level's criteria, and the highest
level their figures reach. The dashboard shows one distributor's progress; the automatic
upgrade (:mod:`portal.levels.upgrades`) evaluates a whole range of distributors with
the same numbers, in a few grouped queries for all of them.

The criteria of a level are counted over its :func:`window`: personal sales and orders are
the distributor's qualifying orders (:mod:`portal.risk.qualifying`), team size the active
members up to three levels below them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, func, select, union_all
from sqlalchemy.orm import aliased

from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.orders.models import Order
from portal.periods import Period, last_days
from portal.risk import qualifying

DEFAULT_WINDOW_DAYS = 30
ZERO = Decimal(0)
K = TypeVar("K")


class Counted(Protocol):
    """A distributor's qualifying sales and orders over a level's window."""

    @property
    def sales(self) -> Decimal: ...

    @property
    def orders(self) -> int: ...


@dataclass(frozen=True)
class Figures:
    sales: Decimal = ZERO
    orders: int = 0


@dataclass(frozen=True)
class Criterion:
    key: str  # personal_sales | team_size | orders
    current: Decimal
    target: Decimal

    @property
    def met(self) -> bool:
        return self.current >= self.target

    @property
    def percent(self) -> int:
        if self.target <= 0:
            return 100
        return int(min(Decimal(100), self.current * 100 / self.target))


@dataclass(frozen=True)
class LevelProgress:
    current: Level | None
    next: Level | None
    window_days: int
    criteria: list[Criterion]


def ladder() -> list[Level]:
    """Every level, lowest rank first."""
    return list(db.session.scalars(select(Level).order_by(Level.rank)))


def next_level(current: Level | None) -> Level | None:
    query = select(Level).order_by(Level.rank).limit(1)
    if current is not None:
        query = query.where(Level.rank > current.rank)
    return db.session.scalar(query)


def window(target: Level, now: datetime) -> Period:
    """The period a level's sales and order criteria are counted over: the last N UTC
    days, today included."""
    return last_days(target.window_days or DEFAULT_WINDOW_DAYS, now)


def counts_figures(level: Level) -> bool:
    """Whether the level has a criterion on sales or orders (counted over its window)."""
    return level.min_personal_sales is not None or level.min_orders is not None


def criteria(target: Level, counted: Counted, team_size: int) -> list[Criterion]:
    """The target's criteria against the figures (only those the level sets)."""
    result: list[Criterion] = []
    if target.min_personal_sales is not None:
        result.append(
            Criterion("personal_sales", counted.sales, Decimal(target.min_personal_sales))
        )
    if target.min_orders is not None:
        result.append(Criterion("orders", Decimal(counted.orders), Decimal(target.min_orders)))
    if target.min_team_size is not None:
        result.append(Criterion("team_size", Decimal(team_size), Decimal(target.min_team_size)))
    return result


def progress(
    distributor: Distributor,
    now: datetime,
    target: Level | None = None,
    counted: Counted | None = None,
) -> LevelProgress:
    """Against ``target`` (default: the next level); ``counted`` are the figures over its
    :func:`window` when the caller already has them (the dashboard asks for them together
    with its other periods, in the same queries)."""
    target = target or next_level(distributor.level)
    if target is None:
        return LevelProgress(distributor.level, None, 0, [])
    period = window(target, now)
    one = Distributor.id == distributor.id
    if counted is None and counts_figures(target):
        counted = figures({0: period}, one)[0].get(distributor.id, Figures())
    size = 0
    if target.min_team_size is not None:
        size = active_team_sizes(one).get(distributor.id, 0)
    return LevelProgress(
        distributor.level,
        target,
        (period.end - period.start).days,
        criteria(target, counted or Figures(), size),
    )


def _ids(distributors: ColumnElement[bool], column: Any) -> ColumnElement[bool]:
    """``distributors`` (a condition on :class:`Distributor`) as a condition on ``column``,
    a distributor id of another table."""
    return column.in_(select(Distributor.id).where(distributors))


def figures(
    periods: dict[K, Period], distributors: ColumnElement[bool]
) -> dict[K, dict[int, Figures]]:
    """Qualifying sales and orders in each of ``periods`` of every distributor matching
    ``distributors``, in one grouped query over the span of them all (distributors with
    none in a period are absent from it)."""
    keys = list(periods)
    columns = []
    for key in keys:
        within = and_(
            Order.created_at_shop >= periods[key].start, Order.created_at_shop < periods[key].end
        )
        columns += [func.count().filter(within), func.sum(Order.net_total).filter(within)]
    rows = db.session.execute(
        select(Order.distributor_id, *columns)
        .where(
            _ids(distributors, Order.distributor_id),
            Order.created_at_shop >= min(p.start for p in periods.values()),
            Order.created_at_shop < max(p.end for p in periods.values()),
            *qualifying.conditions(),
        )
        .group_by(Order.distributor_id)
    )
    result: dict[K, dict[int, Figures]] = {key: {} for key in keys}
    for distributor_id, *values in rows:
        for n, key in enumerate(keys):
            count, total = values[2 * n], values[2 * n + 1]
            if count:
                result[key][distributor_id] = Figures(Decimal(total) + ZERO, count)
    return result


def active_team_sizes(distributors: ColumnElement[bool]) -> dict[int, int]:
    """Active members up to three levels below every distributor matching
    ``distributors`` (the criterion "team size"), in one query: a grouped count per depth
    (those without any are absent)."""
    one, two, three = (aliased(Distributor, name=f"d{n}") for n in (1, 2, 3))
    roots = _ids(distributors, one.parent_id)
    active = DistributorStatus.ACTIVE
    depth1 = (
        select(one.parent_id.label("root"), func.count().label("members"))
        .where(roots, one.status == active)
        .group_by(one.parent_id)
    )
    depth2 = (
        select(one.parent_id, func.count())
        .join(two, two.parent_id == one.id)
        .where(roots, two.status == active)
        .group_by(one.parent_id)
    )
    depth3 = (
        select(one.parent_id, func.count())
        .join(two, two.parent_id == one.id)
        .join(three, three.parent_id == two.id)
        .where(roots, three.status == active)
        .group_by(one.parent_id)
    )
    sizes: dict[int, int] = defaultdict(int)
    for root, members in db.session.execute(union_all(depth1, depth2, depth3)):
        sizes[root] += members
    return dict(sizes)


def reached(above: list[Level], counted: dict[int, Counted], team_size: int) -> Level | None:
    """The highest of ``above`` (the levels ranked above the current one, lowest first) that
    the figures reach, climbing while every criterion of the next level is met; None when
    the distributor stays where they are. ``counted`` holds the figures per window length
    (days) of the levels that count sales or orders.

    A level without any criterion is never reached automatically: ops assign it.
    """
    reached_level = None
    for target in above:
        days = target.window_days or DEFAULT_WINDOW_DAYS
        met = criteria(target, counted.get(days, Figures()), team_size)
        if not met or not all(criterion.met for criterion in met):
            break
        reached_level = target
    return reached_level
