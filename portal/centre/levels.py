"""Where a distributor stands against the next level's criteria (shown on the dashboard;
the automatic upgrade evaluates the same numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from portal.centre import team
from portal.centre.figures import PeriodFigures, period_figures
from portal.centre.periods import Period, last_days
from portal.distributors.models import Distributor, Level
from portal.extensions import db

DEFAULT_WINDOW_DAYS = 30


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


def next_level(current: Level | None) -> Level | None:
    query = select(Level).order_by(Level.rank).limit(1)
    if current is not None:
        query = query.where(Level.rank > current.rank)
    return db.session.scalar(query)


def window(target: Level, now: datetime) -> Period:
    """The period a level's sales and order criteria are counted over: the last N UTC
    days, today included."""
    return last_days(target.window_days or DEFAULT_WINDOW_DAYS, now)


def progress(
    distributor: Distributor,
    now: datetime,
    target: Level | None = None,
    counted: PeriodFigures | None = None,
) -> LevelProgress:
    """Against ``target`` (default: the next level); ``counted`` are the figures over its
    :func:`window` when the caller already has them (the dashboard asks for them together
    with its other periods, in the same queries)."""
    target = target or next_level(distributor.level)
    if target is None:
        return LevelProgress(distributor.level, None, 0, [])
    period = window(target, now)
    criteria: list[Criterion] = []
    if target.min_personal_sales is not None or target.min_orders is not None:
        figures = counted or period_figures(distributor.id, period)
        if target.min_personal_sales is not None:
            criteria.append(
                Criterion("personal_sales", figures.sales, Decimal(target.min_personal_sales))
            )
        if target.min_orders is not None:
            criteria.append(
                Criterion("orders", Decimal(figures.orders), Decimal(target.min_orders))
            )
    if target.min_team_size is not None:
        size = Decimal(team.active_size(distributor.id))
        criteria.append(Criterion("team_size", size, Decimal(target.min_team_size)))
    return LevelProgress(distributor.level, target, (period.end - period.start).days, criteria)
