"""A distributor's link statistics split by sub-id (``?sub=`` of the link: which post or
channel) and by referring site (the host of the page the visitor came from): clicks,
qualifying orders (``portal.risk.qualifying``), their sales and the commission they earned
the distributor. One grouped query per table and split."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.links.models import Click
from portal.orders.models import Order
from portal.periods import Period
from portal.risk import qualifying

ZERO = Decimal(0)
ROWS = 50  # the busiest sub-ids / sites shown; the rest are summed as "others"


@dataclass(frozen=True)
class Row:
    key: str | None  # None: clicks or orders without a sub-id / referring site
    clicks: int
    orders: int
    sales: Decimal
    commission: Decimal


@dataclass(frozen=True)
class Split:
    rows: list[Row]
    others: Row | None  # what did not fit in ROWS, summed


def _grouped(query: Any) -> dict[str | None, tuple[Any, ...]]:
    return {key: tuple(values) for key, *values in db.session.execute(query)}


def _split(distributor_id: int, period: Period, click_key: Any, order_key: Any) -> Split:
    clicks = _grouped(
        select(click_key, func.count())
        .where(
            Click.distributor_id == distributor_id,
            Click.created_at >= period.start,
            Click.created_at < period.end,
        )
        .group_by(click_key)
    )
    in_period = (
        Order.distributor_id == distributor_id,
        Order.created_at_shop >= period.start,
        Order.created_at_shop < period.end,
    )
    orders = _grouped(
        select(order_key, func.count(), func.sum(Order.net_total))
        .where(*in_period, *qualifying.conditions())
        .group_by(order_key)
    )
    earned = _grouped(
        select(order_key, func.sum(Commission.amount))
        .join(Order, Order.id == Commission.order_id)
        .where(
            *in_period,
            Commission.beneficiary_id == distributor_id,
            Commission.state != CommissionState.REVERSED,
        )
        .group_by(order_key)
    )
    rows = [
        Row(
            key,
            int(clicks.get(key, (0,))[0]),
            int(orders.get(key, (0, ZERO))[0]),
            Decimal(orders.get(key, (0, ZERO))[1] or 0) + ZERO,
            Decimal(earned.get(key, (ZERO,))[0] or 0) + ZERO,
        )
        for key in {*clicks, *orders, *earned}
    ]
    rows.sort(key=lambda r: (-r.orders, -r.clicks, r.key is None, r.key or ""))
    return Split(rows[:ROWS], _sum(rows[ROWS:]))


def _sum(rows: Iterable[Row]) -> Row | None:
    rows = list(rows)
    if not rows:
        return None
    return Row(
        None,
        sum(r.clicks for r in rows),
        sum(r.orders for r in rows),
        sum((r.sales for r in rows), ZERO),
        sum((r.commission for r in rows), ZERO),
    )


def by_sub(distributor_id: int, period: Period) -> Split:
    return _split(distributor_id, period, Click.sub_id, Order.sub_id)


def by_site(distributor_id: int, period: Period) -> Split:
    return _split(distributor_id, period, Click.referrer_host, Order.referrer_host)
