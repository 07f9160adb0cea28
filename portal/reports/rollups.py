"""Keeping the report rollups (:class:`~portal.reports.models.Rollup`) exact.

Which keys are stale is noted by the database: triggers on ``orders``, ``commissions`` and
``risk_flags`` (created by the migration) write the (UTC day, distributor) keys a change
touches — before and after it: a re-assigned order is stale for its old distributor and
its new one — to ``report_due``, whoever wrote the change. :func:`settle`, run by every
session commit before it ends (:func:`install`), takes the keys its transaction noted and
recomputes their day rows from the base tables with the one definition of the figures
(``risk.qualifying`` for qualifying orders); the month, year and everyone rows move by the
same difference. So the rollups change in the transaction that changed the base tables —
a rollback or a crash undoes both — and a writer cannot forget them.

Concurrent commits that touch the same key are serialised on its day row (locked before it
is recomputed, so the second recomputes after the first committed and sees its change);
rows are locked in one order (day rows, then the others sorted), so they cannot deadlock.
:func:`rebuild` (``portal reports rebuild``) recomputes everything.

Clicks are counted per closed day instead (:class:`~portal.reports.models.ClickDay`, by
:func:`close_click_days`, hourly): they are written one per redirect, and a per-day row
every redirect updated would make them wait on each other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    event,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from portal import bulk
from portal.commissions.models import Commission, CommissionState
from portal.links.models import Click
from portal.money import Money
from portal.orders.models import VOID_STATUSES, Order
from portal.reports.models import EVERYONE, SPANS, STATE_COLUMNS, ClickDay, Rollup, RollupDue
from portal.risk import qualifying
from portal.timeutil import as_date, utc_date, utcnow

Key = tuple[date, int]  # (UTC day, distributor id)
VALUES = ("orders", "sales", "qualifying_orders", "qualifying_sales", *STATE_COLUMNS)
ZERO = Decimal(0)
CHUNK = 1000  # keys per statement (SQLite allows 32,766 parameters)


def start_of(span: str, day: date) -> date:
    """The first day of the ``span`` that holds ``day``."""
    if span == "month":
        return day.replace(day=1)
    if span == "year":
        return day.replace(month=1, day=1)
    return day


class _month_start(FunctionElement[Any]):
    """The first day of the month of a date column."""

    inherit_cache = True
    name = "month_start"


class _year_start(FunctionElement[Any]):
    """The first day of the year of a date column."""

    inherit_cache = True
    name = "year_start"


@compiles(_month_start)
def _month_start_sqlite(element: _month_start, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(_month_start, "postgresql")
def _month_start_postgresql(element: _month_start, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('month', {compiler.process(element.clauses, **kw)})::date"


@compiles(_year_start)
def _year_start_sqlite(element: _year_start, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of year')"


@compiles(_year_start, "postgresql")
def _year_start_postgresql(element: _year_start, compiler: Any, **kw: Any) -> str:
    return f"date_trunc('year', {compiler.process(element.clauses, **kw)})::date"


_STARTS = {"month": _month_start, "year": _year_start}


@cache
def _add(dialect_name: str) -> Any:
    """INSERT a rollup row, or add its figures to the row there (built once: a commit's
    settling should not cost more in Python than in the database)."""
    table = Rollup.__table__
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.span, table.c.start, table.c.distributor_id],
        set_={name: table.c[name] + statement.excluded[name] for name in VALUES},
    )


def _zero() -> dict[str, Any]:
    return {name: 0 if name.endswith("orders") else ZERO for name in VALUES}


def _chunks(keys: list[Key]) -> Iterator[list[Key]]:
    for n in range(0, len(keys), CHUNK):
        yield keys[n : n + CHUNK]


def settle(session: Session) -> None:
    """Recompute the keys this transaction made stale (a ``before_commit`` listener).

    One indexed read of an empty table when nothing changed; on SQLite a plain read, so a
    read-only commit does not take the database's write lock."""
    session.flush()  # the unit of work's pending changes fire their triggers now
    if not session.connection().info.pop(_WROTE, False):
        return  # this connection wrote no order, commission or flag since it last settled
    if session.execute(select(RollupDue.id).limit(1)).first() is None:
        return
    due = session.execute(delete(RollupDue).returning(RollupDue.day, RollupDue.distributor_id))
    refresh(session, {(as_date(day), distributor_id) for day, distributor_id in due})
    session.connection().info.pop(_WROTE, None)  # the refresh's own reads of the orders


# Set on a connection that sent a write naming a table whose triggers note due keys, so a
# commit that wrote none of them (a click, a webhook delivery, a page view) reads nothing.
# Keys noted by writers outside the portal's sessions wait for the next commit that writes
# one of these tables (or ``portal reports rebuild``).
_WROTE = "portal_rollups_wrote"
_WATCHED = re.compile(r"\b(orders|commissions|risk_flags)\b", re.IGNORECASE)


def _note_writes(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE") and _WATCHED.search(
        statement
    ):
        conn.info[_WROTE] = True


def install(session_class: type[Session] = Session) -> None:
    """Settle the rollups in every session commit that wrote what they sum (idempotent:
    create_app may run many times)."""
    if not event.contains(session_class, "before_commit", settle):
        event.listen(session_class, "before_commit", settle)
    if not event.contains(Engine, "before_cursor_execute", _note_writes):
        event.listen(Engine, "before_cursor_execute", _note_writes)


def refresh(session: Session, keys: Collection[Key]) -> None:
    """Recompute the day rows of ``keys`` from the base tables, and move their month,
    year and everyone rows by the difference. Idempotent."""
    ordered = sorted(set(keys))
    for chunk in _chunks(ordered):
        _refresh(session, chunk)


def _refresh(session: Session, keys: list[Key]) -> None:
    table = Rollup.__table__
    c = table.c
    if session.get_bind().dialect.name == "postgresql":
        # A row for every key, so there is one to lock (SQLite has one writer at a time).
        session.execute(
            postgresql.insert(table).on_conflict_do_nothing(),
            [{"span": "day", "start": day, "distributor_id": who, **_zero()} for day, who in keys],
        )
    # The lock, then the figures before (none: a key new to the rollups).
    old = {
        (as_date(row.start), row.distributor_id): row
        for row in session.execute(
            select(table)
            .where(c.span == "day", tuple_(c.start, c.distributor_id).in_(keys))
            .order_by(c.start, c.distributor_id)
            .with_for_update()
        )
    }
    new = recompute(session, keys)
    moves: dict[tuple[int, date, int], dict[str, Any]] = defaultdict(_zero)
    for key in keys:
        before, after = old.get(key), new[key]
        difference = {
            name: after[name] - (getattr(before, name) if before else 0) for name in VALUES
        }
        if not any(difference.values()):
            continue
        day, who = key
        for rank, span in enumerate(SPANS):
            for target in (who, EVERYONE):
                moved = moves[(rank, start_of(span, day), target)]
                for name, value in difference.items():
                    moved[name] += value
    if not moves:
        return
    session.execute(
        _add(session.get_bind().dialect.name),
        [
            {"span": SPANS[rank], "start": start, "distributor_id": who, **moved}
            for (rank, start, who), moved in sorted(moves.items())
        ],
    )


def _among(keys: Collection[Key], distributor: Any, moment: Any) -> ColumnElement[bool]:
    """Rows of exactly these (day, distributor) keys: one index range per day of them."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for day, who in keys:
        by_day[day].append(who)
    return or_(
        *(
            and_(
                bulk.among(distributor, sorted(ids)),
                moment >= datetime.combine(day, time(), UTC),
                moment < datetime.combine(day + timedelta(days=1), time(), UTC),
            )
            for day, ids in sorted(by_day.items())
        )
    )


@cache
def _sold() -> Any:
    """Orders sold per (day, seller): count, sales, qualifying count and sales (add a
    filter, then group; built once)."""
    day = utc_date(Order.created_at_shop)
    counts = qualifying.qualifies()
    return select(
        day.label("day"),
        Order.distributor_id.label("distributor_id"),
        func.count().label("orders"),
        func.sum(Order.net_total).label("sales"),
        func.count().filter(counts).label("qualifying_orders"),
        func.coalesce(func.sum(Order.net_total).filter(counts), 0).label("qualifying_sales"),
    ).where(Order.distributor_id.is_not(None), Order.status.not_in(VOID_STATUSES))


@cache
def _earned() -> Any:
    """Commissions per (day of the order, beneficiary), one sum per state (add a filter,
    then group; built once)."""
    day = utc_date(Commission.order_created_at)
    return select(
        day.label("day"),
        Commission.beneficiary_id.label("distributor_id"),
        *(
            func.coalesce(func.sum(Commission.amount).filter(Commission.state == state), 0).label(
                state.value
            )
            for state in CommissionState
        ),
    )


def recompute(session: Session, keys: Collection[Key]) -> dict[Key, dict[str, Any]]:
    """The day figures of ``keys`` from the base tables (two grouped reads)."""
    found = {key: _zero() for key in keys}
    if not found:
        return found
    sold = _sold().where(_among(found, Order.distributor_id, Order.created_at_shop))
    earned = _earned().where(_among(found, Commission.beneficiary_id, Commission.order_created_at))
    for statement in (
        sold.group_by(utc_date(Order.created_at_shop), Order.distributor_id),
        earned.group_by(utc_date(Commission.order_created_at), Commission.beneficiary_id),
    ):
        for row in session.execute(statement).mappings():
            figures = found[(as_date(row["day"]), row["distributor_id"])]
            for name in VALUES:
                if name in row:
                    figures[name] = type(figures[name])(row[name])
    return found


def close_click_days(session: Session, today: date, back: int = 400) -> int:
    """Count the clicks of the days before ``today`` (up to ``back`` days) that have no
    :class:`ClickDay` yet, in the caller's transaction. Returns the days closed.

    On PostgreSQL the clicks table is locked against writes meanwhile (``SHARE``: a click
    being written commits first and is counted; redirects wait the few milliseconds of
    the count), so a backdated click cannot slip between the count and its row."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE clicks IN SHARE MODE"))
    first = today - timedelta(days=back)
    closed = set(
        map(
            as_date,
            session.scalars(
                select(ClickDay.day).where(ClickDay.day >= first, ClickDay.day < today)
            ),
        )
    )
    missing = [
        first + timedelta(days=n) for n in range(back) if first + timedelta(days=n) not in closed
    ]
    if not missing:
        return 0
    day = utc_date(Click.created_at)
    counted = {
        as_date(d): n
        for d, n in session.execute(
            select(day, func.count())
            .where(
                Click.created_at >= datetime.combine(missing[0], time(), UTC),
                Click.created_at < datetime.combine(today, time(), UTC),
            )
            .group_by(day)
        )
    }
    session.execute(
        ClickDay.__table__.insert(), [{"day": d, "clicks": counted.get(d, 0)} for d in missing]
    )
    return len(missing)


def close_past_click_days() -> int:
    """The hourly job: :func:`close_click_days` up to today (the job runner commits)."""
    from portal.extensions import db

    closed = close_click_days(db.session, utcnow().date())
    return closed


def rebuild(session: Session) -> int:
    """Recompute every rollup from the base tables, in the caller's transaction (the
    table is locked on PostgreSQL, so commits that settle keys meanwhile wait for it).
    Returns the number of day rows per distributor."""
    table = Rollup.__table__
    c = table.c
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE report_rollups IN EXCLUSIVE MODE"))
    session.execute(delete(RollupDue))
    session.execute(delete(Rollup))
    session.execute(delete(ClickDay))
    close_click_days(session, utcnow().date())
    zero = literal(ZERO, Money)
    sold = _sold().group_by(utc_date(Order.created_at_shop), Order.distributor_id).subquery()
    earned = (
        _earned()
        .group_by(utc_date(Commission.order_created_at), Commission.beneficiary_id)
        .subquery()
    )
    both = union_all(
        select(
            sold.c.day,
            sold.c.distributor_id,
            sold.c.orders,
            sold.c.sales,
            sold.c.qualifying_orders,
            sold.c.qualifying_sales,
            *(zero.label(name) for name in STATE_COLUMNS),
        ),
        select(
            earned.c.day,
            earned.c.distributor_id,
            literal(0).label("orders"),
            zero.label("sales"),
            literal(0).label("qualifying_orders"),
            zero.label("qualifying_sales"),
            *(earned.c[name] for name in STATE_COLUMNS),
        ),
    ).subquery()
    sums = [func.sum(both.c[name]) for name in VALUES]
    session.execute(
        table.insert().from_select(
            ["span", "start", "distributor_id", *VALUES],
            select(literal("day"), both.c.day, both.c.distributor_id, *sums).group_by(
                both.c.day, both.c.distributor_id
            ),
        )
    )
    days = session.scalar(select(func.count()).select_from(table)) or 0
    day_sums = [func.sum(c[name]) for name in VALUES]
    session.execute(
        table.insert().from_select(
            ["span", "start", "distributor_id", *VALUES],
            select(literal("day"), c.start, literal(EVERYONE), *day_sums)
            .where(c.span == "day")
            .group_by(c.start),
        )
    )
    for span in SPANS[1:]:
        start = _STARTS[span](c.start)
        session.execute(
            table.insert().from_select(
                ["span", "start", "distributor_id", *VALUES],
                select(literal(span), start, c.distributor_id, *day_sums)
                .where(c.span == "day")
                .group_by(start, c.distributor_id),
            )
        )
    return days
