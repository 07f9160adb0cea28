"""Storing deliveries and draining the inbox into orders and commissions.

The webhook only verifies, stores and schedules a drain; :func:`drain` does the work,
``BATCH`` rows per transaction (orders stored with ``store_orders``, commissions applied
per batch with ``apply_orders``). A row that fails is kept with its error and retried by
later runs (up to ``MAX_ATTEMPTS``); the periodic run picks up anything that was stored
while the queue was unreachable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import redis
from flask import current_app
from sqlalchemy import ColumnElement, Engine, Row, create_engine, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from plugins.woocommerce_bridge import mapping
from plugins.woocommerce_bridge.models import WooDelivery
from portal import jobs, metrics
from portal.catalogue.models import Product
from portal.commissions import services as commissions
from portal.extensions import db
from portal.orders import attribution
from portal.orders import services as orders
from portal.orders.models import Order
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SHOP = "woocommerce"
BATCH = 100  # deliveries per transaction
# How long "a drain is queued" stands without the drain clearing it (a lost job, a worker
# down): then the next delivery queues another.
QUEUED_TTL = 60


def store(topic: str, headers: dict[str, str], body: bytes) -> None:
    """Keep the raw delivery before the webhook answers: one INSERT on an autocommit
    connection, durable when it returns — no ORM object, no transaction round trips, no
    ping."""
    named = {key.lower(): value for key, value in headers.items()}  # any spelling
    row = {
        "delivery_id": named.get("x-wc-webhook-delivery-id"),
        "webhook_id": named.get("x-wc-webhook-id"),
        "topic": topic,
        "headers": headers,
        "body": body.decode("utf-8", errors="replace"),
        "received_at": utcnow(),
        "attempts": 0,
    }
    for attempt in range(2):
        try:
            with _inbox_engine().connect() as conn:
                conn.execute(insert(WooDelivery), row)
            return
        except DBAPIError as exc:
            if attempt or not exc.connection_invalidated:
                raise  # the second try runs on a new connection


def _inbox_engine() -> Engine:
    """Autocommit connections for :func:`store`, in a pool of their own that does not ping
    the server on every checkout as the app's does: one round trip less per delivery. A
    connection the server dropped is invalidated on use, and :func:`store` tries again."""
    engine = current_app.extensions.get("woocommerce.inbox_engine")
    if engine is None:
        engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
        current_app.extensions["woocommerce.inbox_engine"] = engine
    return engine


def _queued_key() -> str:
    return f"{current_app.config['PORTAL_QUEUE']}:woocommerce:drain-queued"


def schedule_drain() -> None:
    """Queue a drain unless one is already waiting: under load every delivery that arrives
    before the queued drain starts is served by it (one Redis round trip each, instead of
    one job per delivery). The drain clears the mark before it looks for rows, so a row
    stored after that is either seen by it or queues the next one.

    In a request the mark is set with the request's metrics, in their round trip after the
    response is made."""
    if not current_app.config["REDIS_URL"]:
        jobs.enqueue(drain)  # runs here and now
        return
    key = _queued_key()

    def queue_if_first(marked: Any) -> None:
        if marked:
            jobs.enqueue(drain)

    if not metrics.defer(lambda pipe: pipe.set(key, 1, nx=True, ex=QUEUED_TTL), queue_if_first):
        queue_if_first(jobs.redis_connection().set(key, 1, nx=True, ex=QUEUED_TTL))


def _trash(shop_order_id: str, at: datetime) -> int | None:
    """``order.deleted`` carries only the id: the order is trashed as of the delivery."""
    order = orders.find(SHOP, shop_order_id)
    if order is None or order.modified_at_shop >= at:
        return order.id if order else None
    order.status = "trash"
    order.modified_at_shop = at
    return order.id


def orders_from_payloads(
    payloads: Sequence[Any],
) -> list[orders.OrderData | mapping.MappingError]:
    """Map orders in arrival order, each to its data or the reason it cannot be stored.

    Lines get their categories from the synced catalogue, and each order its attribution
    unless the stored order — or an earlier copy in the batch that will be stored — has
    one (recorded once: a stored attribution is only changed by an admin). One query for
    the categories, one for the stored orders and three for attribution, whatever the
    batch size.
    """
    mapped: list[orders.OrderData | mapping.MappingError] = []
    for payload in payloads:
        try:
            mapped.append(mapping.order_data(payload))
        except mapping.MappingError as exc:
            mapped.append(exc)
    found = [data for data in mapped if isinstance(data, orders.OrderData)]
    if not found:
        return mapped
    categories = dict(
        db.session.execute(
            select(Product.product_id, Product.category_ids).where(
                Product.product_id.in_({line.product_id for data in found for line in data.lines})
            )
        ).all()
    )
    # shop order id -> (modified at the shop, attributed) of the copy that will be stored
    stored = {
        shop_order_id: (modified, distributor_id is not None)
        for shop_order_id, modified, distributor_id in db.session.execute(
            select(Order.shop_order_id, Order.modified_at_shop, Order.distributor_id).where(
                Order.shop == SHOP, Order.shop_order_id.in_({d.shop_order_id for d in found})
            )
        )
    }
    claims = [
        _attribution_claim(payload, data) if isinstance(data, orders.OrderData) else None
        for payload, data in zip(payloads, mapped, strict=True)
    ]
    attributor = attribution.Attributor(claim for claim in claims if claim is not None)
    result: list[orders.OrderData | mapping.MappingError] = []
    for claim, data in zip(claims, mapped, strict=True):
        if claim is not None and isinstance(data, orders.OrderData):
            lines = tuple(
                replace(line, category_ids=tuple(categories.get(line.product_id) or ()))
                for line in data.lines
            )
            modified, attributed = stored.get(data.shop_order_id, (None, False))
            data = replace(
                data,
                lines=lines,
                attribution=None if attributed else attributor.credit(claim),
            )
            if modified is None or data.modified_at > modified:
                stored[data.shop_order_id] = (
                    data.modified_at,
                    attributed or data.attribution is not None,
                )
        result.append(data)
    return result


def _attribution_claim(payload: dict[str, Any], data: orders.OrderData) -> attribution.Claim:
    found = mapping.evidence(payload)
    return attribution.Claim(
        found.coupons,
        found.portal_ref,
        found.utm,
        data.customer_email,
        data.customer_id,
        data.created_at,
    )


def _apply(rows: Sequence[Row[Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """Apply claimed deliveries in arrival order inside the caller's transaction. Returns
    each row's outcome (for :func:`_record`) and the ids of the orders they touched."""
    outcomes: list[dict[str, Any]] = []
    touched: set[int] = set()
    segment: list[tuple[int, Any]] = []  # (delivery id, payload) of order copies

    def store_segment() -> None:
        mapped = orders_from_payloads([payload for _, payload in segment])
        good = [(i, data) for (i, _), data in zip(segment, mapped, strict=True)]
        for delivery_id, data in good:
            if isinstance(data, mapping.MappingError):
                outcomes.append({"id": delivery_id, "error": str(data)})
        batch = [(i, d) for i, d in good if isinstance(d, orders.OrderData)]
        for (delivery_id, data), stored in zip(
            batch, orders.store_orders([data for _, data in batch]), strict=True
        ):
            outcomes.append({"id": delivery_id, "shop_order_id": data.shop_order_id})
            touched.add(stored.order_id)
        segment.clear()

    for row in rows:
        try:
            payload = json.loads(row.body)
        except ValueError as exc:
            outcomes.append({"id": row.id, "error": f"body is not JSON: {exc}"})
            continue
        if row.topic != "order.deleted":
            segment.append((row.id, payload))
            continue
        store_segment()  # what came before the deletion is stored before it
        if not isinstance(payload, dict) or "id" not in payload:
            outcomes.append({"id": row.id, "error": "order.deleted without an id"})
            continue
        shop_order_id = str(payload["id"])
        order_id = _trash(shop_order_id, row.received_at)
        outcomes.append({"id": row.id, "shop_order_id": shop_order_id})
        if order_id is not None:
            touched.add(order_id)
    store_segment()
    return outcomes, touched


def _record(outcomes: list[dict[str, Any]]) -> int:
    """Mark the processed rows and keep the failed rows' errors (their attempt is already
    counted by the claim). Returns how many were processed."""
    done = [o for o in outcomes if "error" not in o]
    failed = [o for o in outcomes if "error" in o]
    now = utcnow()
    if done:
        db.session.execute(
            update(WooDelivery),
            [{**o, "processed_at": now, "error": None} for o in done],
        )
    for outcome in failed:
        log.warning("woocommerce delivery %s failed: %s", outcome["id"], outcome["error"])
    if failed:
        db.session.execute(
            update(WooDelivery), [{"id": o["id"], "error": o["error"][:2000]} for o in failed]
        )
    return len(done)


def _claim(*where: ColumnElement[bool]) -> list[Row[Any]]:
    """Lock up to ``BATCH`` pending rows (PostgreSQL skips rows another drain holds; SQLite
    serialises on the UPDATE's write lock) and count the attempt; returns them in arrival
    order, with only the rows still pending once locked."""
    pending = (WooDelivery.processed_at.is_(None), WooDelivery.attempts < MAX_ATTEMPTS)
    ids = list(
        db.session.scalars(
            select(WooDelivery.id)
            .where(*pending, *where)
            .order_by(WooDelivery.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.rollback()
        return []
    mine = WooDelivery.id.in_(ids), WooDelivery.processed_at.is_(None)
    db.session.execute(
        update(WooDelivery)
        .where(*mine)
        .values(attempts=WooDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return list(
        db.session.execute(
            select(WooDelivery.id, WooDelivery.topic, WooDelivery.body, WooDelivery.received_at)
            .where(*mine)
            .order_by(WooDelivery.id)
        )
    )


def _one_by_one(ids: list[int]) -> tuple[int, set[int]]:
    """The rows of a batch that lost a race, each in its own transaction, retried once
    (the second time the concurrently inserted order is there to be updated)."""
    done = 0
    touched: set[int] = set()
    for delivery_id in ids:
        for attempt in range(2):
            rows = _claim(WooDelivery.id == delivery_id)
            if not rows:
                break  # another drain took it
            try:
                outcomes, order_ids = _apply(rows)
                done += _record(outcomes)
                db.session.commit()
            except (IntegrityError, OperationalError):
                db.session.rollback()
                if attempt:
                    raise
                continue
            touched |= order_ids
            break
    return done, touched


def drain(limit: int = 5000) -> int:
    """Process pending deliveries in arrival order, ``BATCH`` per transaction, each row
    once per run, until none are left or ``limit`` rows were taken (then another run is
    queued). Returns how many were processed."""
    if current_app.config["REDIS_URL"]:
        try:
            jobs.redis_connection().delete(_queued_key())
        except redis.RedisError:  # the mark expires by itself
            log.warning("could not clear the woocommerce drain mark", exc_info=True)
    done = taken = last = 0
    while taken < limit:
        rows = _claim(WooDelivery.id > last)
        if not rows:
            return done
        taken += len(rows)
        last = rows[-1].id
        try:
            outcomes, touched = _apply(rows)
            done += _record(outcomes)
            db.session.commit()
        except (IntegrityError, OperationalError) as exc:
            # Another drain or a sync stored one of these orders meanwhile: nothing of the
            # batch was kept; store_order settles such races row by row.
            db.session.rollback()
            log.info("woocommerce drain: batch taken row by row (%s)", type(exc.orig).__name__)
            stored, touched = _one_by_one([row.id for row in rows])
            done += stored
        if touched:
            commissions.apply_orders(sorted(touched))
    schedule_drain()
    return done


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
