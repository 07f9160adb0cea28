"""The orders a distributor earned on (or was credited with) and every commission line,
with its state history: the page that answers "why didn't I get this?"."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.orm import selectinload

from portal.centre.periods import Period
from portal.commissions.engine import round_money
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.orders.models import Order


def _involved(distributor_id: int) -> Any:
    """Ids of orders attributed to the distributor or paying them any commission."""
    return union(
        select(Order.id).where(Order.distributor_id == distributor_id),
        select(Commission.order_id).where(Commission.beneficiary_id == distributor_id),
    )


def orders_query(
    distributor_id: int, state: CommissionState | None, month: Period | None
) -> Select[tuple[Order]]:
    query = select(Order).where(Order.id.in_(_involved(distributor_id)))
    if state is not None:
        query = query.where(
            Order.id.in_(
                select(Commission.order_id).where(
                    Commission.beneficiary_id == distributor_id, Commission.state == state
                )
            )
        )
    if month is not None:
        query = query.where(Order.created_at_shop >= month.start, Order.created_at_shop < month.end)
    return query.order_by(Order.created_at_shop.desc(), Order.id.desc())


def find_order(distributor_id: int, order_id: int) -> Order | None:
    """The order if the distributor is involved in it, else ``None`` (→ 404)."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id, Order.id.in_(_involved(distributor_id)))
        .options(selectinload(Order.lines))
    )


@dataclass(frozen=True)
class OrderRow:
    order: Order
    commissions: list[Commission]
    seller: str | None  # the team member who made the sale, when it was not the distributor


def rows(distributor_id: int, orders: list[Order], with_events: bool = False) -> list[OrderRow]:
    """The distributor's commission lines for a page of orders (two queries)."""
    ids = [order.id for order in orders]
    query = (
        select(Commission)
        .where(Commission.beneficiary_id == distributor_id, Commission.order_id.in_(ids))
        .order_by(Commission.depth)
    )
    if with_events:
        query = query.options(selectinload(Commission.events))
    lines: dict[int, list[Commission]] = defaultdict(list)
    for commission in db.session.scalars(query):
        lines[commission.order_id].append(commission)
    sellers = _seller_names(
        {o.distributor_id for o in orders if o.distributor_id not in (None, distributor_id)}
    )
    return [
        OrderRow(order, lines.get(order.id, []), sellers.get(order.distributor_id))
        for order in orders
    ]


def _seller_names(ids: set[int | None]) -> dict[int | None, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(Distributor.id.in_(ids))
        ).all()
    )


CSV_HEADER = (
    "order_number",
    "order_date",
    "order_status",
    "sold_by",
    "attribution",
    "depth",
    "basis",
    "rate_percent",
    "fixed_per_unit",
    "amount",
    "currency",
    "state",
    "zero_reason",
)


def csv_lines(
    distributor_id: int, state: CommissionState | None, month: Period | None
) -> Iterator[str]:
    """The statement as CSV, one row per commission line, streamed page by page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    query = orders_query(distributor_id, state, month).options(selectinload(Order.lines))
    offset, size = 0, 500
    while True:
        orders = list(db.session.scalars(query.limit(size).offset(offset)))
        if not orders:
            return
        for row in rows(distributor_id, orders):
            for commission in row.commissions:
                if state is not None and commission.state is not state:
                    continue
                writer.writerow(_csv_row(row, commission))
        yield flush()
        offset += size


def _csv_row(row: OrderRow, commission: Commission) -> list[object]:
    order = row.order
    return [
        _text(order.number or order.shop_order_id),
        order.created_at_shop.date().isoformat(),
        _text(order.status),
        _text(row.seller or "me"),
        _text(order.attribution_method or ""),
        commission.depth,
        round_money(commission.basis, commission.currency),
        "" if commission.rate is None else format(commission.rate.normalize(), "f"),
        "" if commission.fixed is None else round_money(commission.fixed, commission.currency),
        round_money(commission.amount, commission.currency),
        commission.currency,
        commission.state.value,
        commission.zero_reason or "",
    ]


def _text(value: str) -> str:
    """Neutralise spreadsheet formulas in text cells (names are user input)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def state_filter(value: str | None) -> CommissionState | None:
    try:
        return CommissionState(value) if value else None
    except ValueError:
        return None
