"""Report figures over a date range, read from the rollups (portal.reports.rollups keeps
them exact as orders, commissions and risk flags change), so a page costs the same for a
week or a year: the range's day totals, then per distributor the fewest rollup rows that
tile the range — whole years and months, and the days left over."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import joinedload

from portal.commissions.models import CommissionState
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.links.models import Click
from portal.periods import Period
from portal.reports.models import EVERYONE, ClickDay, Rollup
from portal.reports.rollups import start_of
from portal.timeutil import as_date

ZERO = Decimal(0)
# Rollup columns of the commission not reversed ("earned" on the page).
EARNED = tuple(s.value for s in CommissionState if s is not CommissionState.REVERSED)


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


def _days(period: Period) -> tuple[date, date]:
    """The first and last UTC day of a period of whole days (what the page asks for)."""
    return period.first_day, (period.end - timedelta(days=1)).date()


def tiles(first: date, last: date) -> list[tuple[str, date]]:
    """The fewest rollup spans that cover ``first``–``last`` exactly: whole calendar
    years, then whole months, then single days (at most 2 × 30 days and 11 months for
    any range up to 366 days)."""
    found = []
    day = first
    while day <= last:
        year_end = date(day.year, 12, 31)
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        if day == start_of("year", day) and year_end <= last:
            found.append(("year", day))
            day = year_end + timedelta(days=1)
        elif day.day == 1 and next_month - timedelta(days=1) <= last:
            found.append(("month", day))
            day = next_month
        else:
            found.append(("day", day))
            day += timedelta(days=1)
    return found


def _covering(first: date, last: date) -> list[tuple[str, date]]:
    """Few spans that hold the whole range (and more): up to four months, else years."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(("month", month))
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    if len(months) <= 4:
        return months
    return [("year", date(year, 1, 1)) for year in range(first.year, last.year + 1)]


def _in(spans: list[tuple[str, date]]) -> ColumnElement[bool]:
    return tuple_(Rollup.span, Rollup.start).in_(spans)


def _earned_sum() -> Any:
    return func.sum(reduce(operator.add, (getattr(Rollup, name) for name in EARNED)))


def _per_distributor(first: date, last: date) -> Select[Any]:
    """Orders, sales and earned commission per distributor over the range (add a filter
    on the distributors, then group)."""
    return select(
        Rollup.distributor_id,
        func.sum(Rollup.orders).label("orders"),
        func.sum(Rollup.sales).label("sales"),
        _earned_sum().label("earned"),
    ).where(_in(tiles(first, last)), Rollup.distributor_id != EVERYONE)


def _clicks(first: date, last: date) -> int:
    """The range's clicks: the closed days' counts, and the other days (today, a day
    reopened by a backdated click) counted from the clicks, one range per run of days."""
    counted: dict[date, int] = dict(
        db.session.execute(
            select(ClickDay.day, ClickDay.clicks).where(ClickDay.day >= first, ClickDay.day <= last)
        ).all()
    )
    runs: list[tuple[date, date]] = []  # [start, end) of the days not closed
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        if day in counted:
            continue
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    live = 0
    if runs:
        live = db.session.scalar(
            select(func.count()).where(
                or_(
                    *(
                        and_(
                            Click.created_at >= _midnight(start), Click.created_at < _midnight(end)
                        )
                        for start, end in runs
                    )
                )
            )
        )
    return sum(counted.values()) + (live or 0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def report(period: Period, top: int = 10) -> Report:
    """Everything on the reports page for ``period`` (whole UTC days): the range's day
    totals (one row a day), one count of the clicks, the distributors per level and the
    ranking (a few rollup rows per distributor shown)."""
    first, last = _days(period)
    totals = {
        as_date(row.start): row
        for row in db.session.scalars(
            select(Rollup).where(
                Rollup.span == "day",
                Rollup.distributor_id == EVERYONE,
                Rollup.start >= first,
                Rollup.start <= last,
            )
        )
    }
    clicks = _clicks(first, last)
    people = db.session.execute(
        select(
            Distributor.level_id,
            func.count(Distributor.id).filter(Distributor.status == DistributorStatus.ACTIVE),
            func.count(Distributor.id).filter(
                Distributor.joined_at >= period.start, Distributor.joined_at < period.end
            ),
        ).group_by(Distributor.level_id)
    ).all()
    rows = list(totals.values())
    by_state = {
        s.value: sum((Decimal(getattr(row, s.value)) for row in rows), ZERO) + ZERO
        for s in CommissionState
    }
    members = {level_id: active for level_id, active, _ in people}
    kpis = Kpis(
        sum((Decimal(row.sales) for row in rows), ZERO) + ZERO,
        sum(row.orders for row in rows),
        sum((Decimal(row.qualifying_sales) for row in rows), ZERO) + ZERO,
        sum(row.qualifying_orders for row in rows),
        clicks,
        by_state,
        sum(members.values()),
        sum(recruits for _, _, recruits in people),
    )
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        row = totals.get(day)
        days.append(
            Day(
                day,
                Decimal(row.sales) + ZERO if row else ZERO,
                sum((Decimal(getattr(row, name)) for name in EARNED), ZERO) + ZERO if row else ZERO,
            )
        )
    commission = sum((d.commission for d in days), ZERO)
    return Report(
        kpis, days, ranked(period, top), _levels(first, last, members, kpis.gmv, commission)
    )


def _levels(
    first: date, last: date, members: dict[int | None, int], sales: Decimal, commission: Decimal
) -> list[LevelRow]:
    """Per level (and "no level"): active distributors, their sales and commission.

    The range's totals are known, so the level with the most members (usually holding
    most of the sales) gets the remainder, and only the other levels' distributors'
    rollups are read."""
    largest = max(members, key=lambda level_id: members[level_id], default=None)
    others = (
        _per_distributor(first, last)
        .where(
            Rollup.distributor_id.in_(
                select(Distributor.id).where(Distributor.level_id.is_distinct_from(largest))
            )
        )
        .group_by(Rollup.distributor_id)
        .subquery()
    )
    found = db.session.execute(
        select(Distributor.level_id, func.sum(others.c.sales), func.sum(others.c.earned))
        .join(others, others.c.distributor_id == Distributor.id)
        .group_by(Distributor.level_id)
    ).all()
    sales_by_level = {k: Decimal(s or 0) + ZERO for k, s, _ in found}
    commission_by_level = {k: Decimal(e or 0) + ZERO for k, _, e in found}
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


def ranked(period: Period, limit: int) -> list[Ranked]:
    """The ``limit`` best sellers of the range, with what each earned in it, without
    summing every distributor's range.

    A distributor's sales in the range are at most their sales in the few spans that
    cover it (:func:`_covering`). So take the ``k`` best sellers of each covering span,
    sum their range exactly, and stop when the last of the best ``limit`` sold more than
    anyone outside could: the sum of the covering spans' ``k``-th best sales. Otherwise
    try again with a larger ``k``; a span with fewer than ``k`` sellers has everyone in.
    """
    first, last = _days(period)
    covering = _covering(first, last)
    k = 4 * limit
    while True:
        candidates: set[int] = set()
        bound, everyone = ZERO, True
        for span, start in covering:
            best = db.session.execute(
                select(Rollup.distributor_id, Rollup.sales)
                .where(
                    Rollup.span == span,
                    Rollup.start == start,
                    Rollup.distributor_id != EVERYONE,
                )
                .order_by(Rollup.sales.desc())
                .limit(k)
            ).all()
            candidates.update(who for who, _ in best)
            if len(best) == k:
                bound += Decimal(best[-1][1])
                everyone = False
        figures = (
            db.session.execute(
                _per_distributor(first, last)
                .where(Rollup.distributor_id.in_(candidates))
                .group_by(Rollup.distributor_id)
                .having(func.sum(Rollup.orders) > 0)
            ).all()
            if candidates
            else []
        )
        best_first = sorted(figures, key=lambda row: (-row.sales, row.distributor_id))[:limit]
        if everyone or (len(best_first) == limit and best_first[-1].sales > bound):
            break
        k *= 4
    people = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor)
            .where(Distributor.id.in_([row.distributor_id for row in best_first]))
            .options(joinedload(Distributor.level))
        )
    }
    return [
        Ranked(
            people[row.distributor_id],
            row.orders,
            Decimal(row.sales) + ZERO,
            Decimal(row.earned or 0) + ZERO,
        )
        for row in best_first
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
    first, last = _days(period)
    sales = (
        _per_distributor(first, last)
        .group_by(Rollup.distributor_id)
        .having(func.sum(Rollup.orders) > 0)
        .subquery()
    )
    query = (
        select(
            Distributor.code,
            Distributor.display_name,
            Level.name,
            sales.c.orders,
            sales.c.sales,
            sales.c.earned,
        )
        .join(sales, sales.c.distributor_id == Distributor.id)
        .outerjoin(Level, Level.id == Distributor.level_id)
        .order_by(sales.c.sales.desc(), Distributor.id)
        .execution_options(yield_per=500)
    )
    for code, name, level, orders, total, commission in db.session.execute(query):
        yield ExportRow(
            code, name, level, orders, Decimal(total) + ZERO, Decimal(commission or 0) + ZERO
        )
