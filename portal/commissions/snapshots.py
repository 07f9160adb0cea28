"""Stored orders as the engine sees them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Row, select

from portal import bulk
from portal.commissions import engine
from portal.extensions import db
from portal.orders.models import Order, OrderLine


def engine_line(line: OrderLine | Row[Any]) -> engine.Line:
    """An :class:`OrderLine`, or a row of its columns, as the engine sees it."""
    return engine.Line(
        line_id=line.shop_line_id,
        product_id=line.product_id,
        variation_id=line.variation_id,
        category_ids=tuple(line.category_ids or ()),
        qty=line.qty,
        total=line.total,
        refunded_total=line.refunded_total,
    )


def snapshot(order: Order, lines: tuple[engine.Line, ...] | None = None) -> engine.Order:
    """The order as the engine sees it; ``lines`` when they were read already (else
    ``order.lines``)."""
    return engine.Order(
        order_id=str(order.id),
        currency=order.currency,
        lines=tuple(engine_line(line) for line in order.lines) if lines is None else lines,
        refunded_unallocated=order.refunded_unallocated,
        customer_email=order.customer_email,
        customer_id=order.customer_id,
    )


def read_lines(order_ids: list[int]) -> dict[int, tuple[engine.Line, ...]]:
    """The orders' lines as the engine sees them, read as plain rows (one query, no ORM
    objects: a batch reads several lines per order)."""
    rows = db.session.execute(
        select(
            OrderLine.order_id,
            OrderLine.shop_line_id,
            OrderLine.product_id,
            OrderLine.variation_id,
            OrderLine.category_ids,
            OrderLine.qty,
            OrderLine.total,
            OrderLine.refunded_total,
        )
        .where(bulk.among(OrderLine.order_id, order_ids))
        .order_by(OrderLine.id)
    )
    lines: dict[int, list[engine.Line]] = defaultdict(list)
    for row in rows:
        lines[row.order_id].append(engine_line(row))
    return {order_id: tuple(order_lines) for order_id, order_lines in lines.items()}
