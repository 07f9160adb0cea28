"""Storing shop orders idempotently.

Whatever the delivery path (webhook, REST sync, a replay), an order is stored through
:func:`store_order`: keyed by (shop, shop order id), a copy that is not newer than the one
stored (by the shop's modification time) changes nothing, and the attribution is recorded
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.orders.models import Order, OrderLine


@dataclass(frozen=True)
class LineData:
    shop_line_id: str
    product_id: str
    qty: int
    total: Decimal
    category_ids: tuple[str, ...] = ()
    variation_id: str | None = None
    name: str = ""
    refunded_total: Decimal = Decimal(0)


@dataclass(frozen=True)
class Attribution:
    distributor_id: int
    method: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderData:
    shop_order_id: str
    status: str
    currency: str
    created_at: datetime
    modified_at: datetime
    lines: tuple[LineData, ...]
    number: str | None = None
    completed_at: datetime | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    refunded_unallocated: Decimal = Decimal(0)
    attribution: Attribution | None = None
    shop: str = "woocommerce"


@dataclass(frozen=True)
class Stored:
    order_id: int
    changed: bool


def _apply(order: Order, data: OrderData) -> None:
    order.number = data.number
    order.status = data.status
    order.currency = data.currency.upper()
    order.customer_id = data.customer_id
    order.customer_email = (data.customer_email or "").strip().lower() or None
    order.created_at_shop = data.created_at
    order.modified_at_shop = data.modified_at
    order.completed_at = data.completed_at
    order.refunded_unallocated = data.refunded_unallocated
    order.lines = [
        OrderLine(
            shop_line_id=line.shop_line_id,
            product_id=line.product_id,
            variation_id=line.variation_id,
            category_ids=list(line.category_ids),
            name=line.name[:255],
            qty=line.qty,
            total=line.total,
            refunded_total=line.refunded_total,
        )
        for line in data.lines
    ]
    if order.distributor_id is None and data.attribution is not None:
        order.distributor_id = data.attribution.distributor_id
        order.attribution_method = data.attribution.method
        order.attribution_evidence = data.attribution.evidence


def find(shop: str, shop_order_id: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.shop == shop, Order.shop_order_id == shop_order_id)
    )


def store_order(data: OrderData) -> Stored:
    """Insert or update the order unless the stored copy is as new or newer. Commits."""
    for _attempt in range(2):
        existing = find(data.shop, data.shop_order_id)
        if existing is not None:
            if data.modified_at <= existing.modified_at_shop:
                return Stored(existing.id, changed=False)  # duplicate or stale
            order_id = existing.id
            _apply(existing, data)
            db.session.commit()
            return Stored(order_id, changed=True)
        order = Order(shop=data.shop, shop_order_id=data.shop_order_id)
        _apply(order, data)
        db.session.add(order)
        try:
            db.session.flush()
            order_id = order.id  # read before commit expires it (saves a reload)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # the same order arrived concurrently: update instead
            continue
        return Stored(order_id, changed=True)
    raise RuntimeError(f"could not store order {data.shop_order_id}")
