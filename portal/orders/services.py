"""Storing shop orders idempotently.

Whatever the delivery path (webhook, REST sync, a replay), an order is stored through
:func:`store_order` (or :func:`store_orders` for a batch, with the same outcome): keyed by
(shop, shop order id), a copy that is not newer than the one stored (by the shop's
modification time) changes nothing, and the attribution is recorded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.services import keyed_hash
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
    customer_ip: str | None = None  # hashed before storing, like the user agent
    customer_user_agent: str | None = None
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
    order.customer_ip_hash = keyed_hash(data.customer_ip) if data.customer_ip else None
    order.customer_ua_hash = (
        keyed_hash(data.customer_user_agent) if data.customer_user_agent else None
    )
    order.created_at_shop = data.created_at
    order.modified_at_shop = data.modified_at
    order.completed_at = data.completed_at
    order.refunded_unallocated = data.refunded_unallocated
    # Update lines in place by shop line id: replacing the collection would insert the new
    # rows before deleting the old ones and trip the (order, shop line id) unique index.
    current = {line.shop_line_id: line for line in order.lines}
    lines = []
    for incoming in data.lines:
        line = current.pop(incoming.shop_line_id, None) or OrderLine(
            shop_line_id=incoming.shop_line_id
        )
        line.product_id = incoming.product_id
        line.variation_id = incoming.variation_id
        line.category_ids = list(incoming.category_ids)
        line.name = incoming.name[:255]
        line.qty = incoming.qty
        line.total = incoming.total
        line.refunded_total = incoming.refunded_total
        lines.append(line)
    order.lines = lines
    goods = sum((line.total - line.refunded_total for line in lines), Decimal(0))
    order.net_total = max(Decimal(0), goods - data.refunded_unallocated)
    if order.distributor_id is None and data.attribution is not None:
        order.distributor_id = data.attribution.distributor_id
        order.attribution_method = data.attribution.method
        order.attribution_evidence = data.attribution.evidence


def find(shop: str, shop_order_id: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.shop == shop, Order.shop_order_id == shop_order_id)
    )


def _lock_existing(shop: str, shop_order_id: str) -> Order | None:
    """Lock the stored order (if any) before reading it, so two deliveries of one order
    are applied one after the other: a no-op UPDATE takes PostgreSQL's row lock and
    SQLite's write lock; the read after it sees the winner's copy."""
    locked = db.session.execute(
        update(Order)
        .where(Order.shop == shop, Order.shop_order_id == shop_order_id)
        .values(stored_at=Order.stored_at)
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount == 0:
        return None
    return db.session.scalar(
        select(Order)
        .options(selectinload(Order.lines))
        .where(Order.shop == shop, Order.shop_order_id == shop_order_id)
        .execution_options(populate_existing=True)
    )


def store_order(data: OrderData) -> Stored:
    """Insert or update the order unless the stored copy is as new or newer. Commits."""
    for _attempt in range(2):
        existing = _lock_existing(data.shop, data.shop_order_id)
        if existing is not None:
            if data.modified_at <= existing.modified_at_shop:
                order_id = existing.id
                db.session.rollback()  # release the lock
                return Stored(order_id, changed=False)  # duplicate or stale
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


def _lock_many(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Order]:
    """Lock and load the stored orders among ``keys``: PostgreSQL's row locks are taken in
    id order (concurrent batches cannot deadlock on them), SQLite's write lock by a no-op
    UPDATE before anything is read, as :func:`_lock_existing` does for one order."""
    found: dict[tuple[str, str], Order] = {}
    for shop in {shop for shop, _ in keys}:
        wanted = Order.shop == shop, Order.shop_order_id.in_({i for s, i in keys if s == shop})
        if db.session.get_bind().dialect.name == "sqlite":
            db.session.execute(
                update(Order)
                .where(*wanted)
                .values(stored_at=Order.stored_at)
                .execution_options(synchronize_session=False)
            )
        for order in db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(*wanted)
            .order_by(Order.id)
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        ):
            found[(order.shop, order.shop_order_id)] = order
    return found


def store_orders(batch: Sequence[OrderData]) -> list[Stored]:
    """:func:`store_order` for a batch, in the caller's transaction: flushed, not committed.

    Copies are taken in the given (arrival) order with :func:`store_order`'s rules — one
    that is not newer than the stored order, or than an earlier copy in the batch, changes
    nothing, and the first attribution sticks — so the outcome is the one of storing them
    one by one, for one lock-and-load and one flush. Raises ``IntegrityError`` when another
    transaction inserted one of the new orders meanwhile: the caller rolls back and stores
    that batch one by one (:func:`store_order` settles the race).
    """
    current = _lock_many({(data.shop, data.shop_order_id) for data in batch})
    applied: set[tuple[str, str]] = set()
    outcome: list[tuple[Order, bool]] = []
    for data in batch:
        key = (data.shop, data.shop_order_id)
        order = current.get(key)
        if order is not None and data.modified_at <= order.modified_at_shop:
            outcome.append((order, False))  # duplicate or stale
            continue
        if order is None:
            order = current[key] = Order(shop=data.shop, shop_order_id=data.shop_order_id)
            db.session.add(order)
        elif key in applied:
            # A second newer copy in the batch: write the first, so a line it removed and
            # this one brings back is deleted before it is inserted again.
            db.session.flush()
        _apply(order, data)
        applied.add(key)
        outcome.append((order, True))
    db.session.flush()
    return [Stored(order.id, changed) for order, changed in outcome]
