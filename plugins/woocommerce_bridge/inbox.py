"""Storing deliveries and draining the inbox into orders and commissions.

The webhook only verifies, stores and enqueues; :func:`drain` does the work, many rows per
run and many orders per transaction. A row that fails is kept with its error and retried
by later runs (up to ``MAX_ATTEMPTS``); the periodic run picks up anything that was
stored while the queue was unreachable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from plugins.woocommerce_bridge import mapping
from plugins.woocommerce_bridge.models import WooDelivery
from portal.catalogue.models import Product
from portal.commissions import services as commissions
from portal.extensions import db
from portal.orders import attribution
from portal.orders import services as orders
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SHOP = "woocommerce"


def store(topic: str, headers: dict[str, str], body: bytes) -> int:
    """Keep the raw delivery (committed before the webhook answers). Returns its id."""
    delivery = WooDelivery(
        delivery_id=headers.get("X-WC-Webhook-Delivery-ID"),
        webhook_id=headers.get("X-WC-Webhook-ID"),
        topic=topic,
        headers=headers,
        body=body.decode("utf-8", errors="replace"),
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery.id


def _trash(shop_order_id: str, at: datetime) -> int | None:
    """``order.deleted`` carries only the id: the order is trashed as of the delivery."""
    order = orders.find(SHOP, shop_order_id)
    if order is None or order.modified_at_shop >= at:
        return order.id if order else None
    order.status = "trash"
    order.modified_at_shop = at
    db.session.commit()
    return order.id


def _process(delivery: WooDelivery) -> int | None:
    """Apply one delivery to the stored order; returns the order id to recompute."""
    payload: Any = json.loads(delivery.body)
    if delivery.topic == "order.deleted":
        if not isinstance(payload, dict) or "id" not in payload:
            raise mapping.MappingError("order.deleted without an id")
        delivery.shop_order_id = str(payload["id"])
        return _trash(delivery.shop_order_id, delivery.received_at)
    data = order_from_payload(payload)
    delivery.shop_order_id = data.shop_order_id
    return orders.store_order(data).order_id


def order_from_payload(payload: Any) -> orders.OrderData:
    """Map a REST/webhook order, add line categories from the synced catalogue and the
    attribution (recorded once: a stored attribution is only changed by an admin)."""
    data = mapping.order_data(payload)
    categories = dict(
        db.session.execute(
            select(Product.product_id, Product.category_ids).where(
                Product.product_id.in_({line.product_id for line in data.lines})
            )
        ).all()
    )
    data = replace(
        data,
        lines=tuple(
            replace(line, category_ids=tuple(categories.get(line.product_id) or ()))
            for line in data.lines
        ),
    )
    existing = orders.find(data.shop, data.shop_order_id)
    if existing is not None and existing.distributor_id is not None:
        return data
    found = mapping.evidence(payload)
    credited = attribution.resolve(
        found.coupons,
        found.portal_ref,
        found.utm,
        data.customer_email,
        data.customer_id,
        data.created_at,
    )
    if credited is not None and credited.method != "binding":
        attribution.bind(
            credited.distributor_id, data.customer_email, data.customer_id, data.created_at
        )
    return replace(data, attribution=credited)


def drain(limit: int = 500) -> int:
    """Process pending deliveries in arrival order; returns how many were processed."""
    ids = list(
        db.session.scalars(
            select(WooDelivery.id)
            .where(WooDelivery.processed_at.is_(None), WooDelivery.attempts < MAX_ATTEMPTS)
            .order_by(WooDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    db.session.commit()
    touched: set[int] = set()
    done = 0
    for delivery_id in ids:
        claimed = db.session.execute(
            update(WooDelivery)
            .where(WooDelivery.id == delivery_id, WooDelivery.processed_at.is_(None))
            .values(attempts=WooDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            continue  # another drain took it
        delivery = db.session.get(WooDelivery, delivery_id, populate_existing=True)
        try:
            order_id = _process(delivery)
        except (ValueError, mapping.MappingError) as exc:
            db.session.rollback()
            _fail(delivery_id, str(exc))
            continue
        delivery = db.session.get(WooDelivery, delivery_id)
        delivery.processed_at = utcnow()
        delivery.error = None
        db.session.commit()
        done += 1
        if order_id is not None:
            touched.add(order_id)
    if touched:
        commissions.apply_orders(sorted(touched))
    return done


def _fail(delivery_id: int, error: str) -> None:
    log.warning("woocommerce delivery %s failed: %s", delivery_id, error)
    db.session.execute(
        update(WooDelivery)
        .where(WooDelivery.id == delivery_id)
        .values(error=error[:2000], attempts=WooDelivery.attempts + 1)  # the claim rolled back
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def replay(delivery_id: int) -> bool:
    """Put a delivery back in the queue (ops' replay button). False when unknown."""
    result = db.session.execute(
        update(WooDelivery)
        .where(WooDelivery.id == delivery_id)
        .values(processed_at=None, attempts=0, error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliveries_query() -> Any:
    return select(WooDelivery).order_by(WooDelivery.id.desc())
