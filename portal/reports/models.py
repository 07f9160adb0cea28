"""The admin reports' rollups: per day, month and year, per distributor and in total.

Kept exact by :mod:`portal.reports.rollups`. The database itself notes which (day,
distributor) keys a change to an order, a commission or a risk flag touches — triggers
created by the migration write them to ``report_due``, whatever wrote the change (the ORM,
a Core bulk statement, SQL) — and the commit that made the change recomputes them from the
base tables before it ends (:func:`portal.reports.rollups.settle`), in the same transaction.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.money import Money

# ``distributor_id`` of the rows that hold everyone's figures (no distributor has id 0).
EVERYONE = 0
SPANS = ("day", "month", "year")
# The commission columns, one per state (the values of CommissionState).
STATE_COLUMNS = ("pending", "holding", "available", "paid", "on_review", "reversed")


class Rollup(db.Model):
    """One span (a UTC day, calendar month or calendar year starting at ``start``) of one
    distributor, or of everyone: the orders they sold (attributed, not void) and the
    commissions they earned (as beneficiary), both by the order's date."""

    __tablename__ = "report_rollups"

    span: Mapped[str] = mapped_column(String(5), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    # No foreign key: EVERYONE is not a distributor.
    distributor_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    orders: Mapped[int] = mapped_column(default=0)
    sales: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    qualifying_orders: Mapped[int] = mapped_column(default=0)  # risk.qualifying
    qualifying_sales: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    pending: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    holding: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    available: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    on_review: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    reversed: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


# The ranking reads a span's best sellers first; a distributor's spans are read by id.
Index("ix_report_rollups_best", Rollup.span, Rollup.start, Rollup.sales.desc())
Index("ix_report_rollups_distributor", Rollup.distributor_id, Rollup.span, Rollup.start)


class RollupDue(db.Model):
    """A (day, distributor) key whose rollup rows a change in this transaction made stale.

    Written only by the database's triggers; emptied by the commit that wrote them. Not
    unique: concurrent transactions each note their own keys without waiting on each
    other (the recomputation locks the rollup rows instead)."""

    __tablename__ = "report_due"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    distributor_id: Mapped[int]


class ClickDay(db.Model):
    """The clicks of a closed UTC day (before today), counted once by
    :func:`portal.reports.rollups.close_click_days`. A day without a row is counted from
    the clicks themselves; a click written into a closed day — a backdated insert, a
    deletion — removes its day's row (a trigger), so the count is never stale. Redirects
    write today's clicks, whose day has no row: they touch no row of this table."""

    __tablename__ = "report_click_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    clicks: Mapped[int]
