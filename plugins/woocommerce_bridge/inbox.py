"""Storing deliveries and draining the inbox into orders and commissions.

The webhook only verifies, stores and schedules a drain; :func:`drain` does the work,
``BATCH`` rows per transaction through the core intake (``portal.intake``): the
orders stored, their commissions run and the rows marked processed in one unit of work.
Each row succeeds or fails alone: a row that cannot be mapped is marked failed with its
reason; one that fails otherwise keeps its error and attempt count and is retried by
later runs (up to ``MAX_ATTEMPTS``); ops replay either from the Shop page. The periodic
run picks up anything that was stored while the queue was unreachable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from plugins.woocommerce_bridge import lookups, mapping
from plugins.woocommerce_bridge.models import WooConnection, WooDelivery
from portal import intake, jobs, metrics
from portal.extensions import db
from portal.settings import services as settings
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SHOP = "woocommerce"
BATCH = 100  # deliveries per transaction
PENDING = (
    WooDelivery.processed_at.is_(None),
    WooDelivery.failed_at.is_(None),
    WooDelivery.attempts < MAX_ATTEMPTS,
)
# How long "a drain is queued" stands without the drain clearing it (a lost job, a worker
# down): then the next delivery queues another.
QUEUED_TTL = 60
DRAIN_TIMEOUT = 600  # seconds: a drain takes at most 5,000 deliveries (``limit``)


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


def count_refused() -> None:
    """A delivery refused with a bad signature, counted for the Shop page on the inbox's
    autocommit connection (never fails the answer)."""
    now = utcnow()
    counted = update(WooConnection).where(WooConnection.id == 1)
    counted = counted.values(unauthorized=WooConnection.unauthorized + 1, last_unauthorized_at=now)
    try:
        with _inbox_engine().connect() as conn:
            if conn.execute(counted).rowcount:
                return
            try:
                first = {"unauthorized": 1, "unauthorized_since": now, "webhooks": []}
                conn.execute(insert(WooConnection).values(id=1, last_unauthorized_at=now, **first))
            except IntegrityError:  # another process made the row first
                conn.execute(counted)
    except SQLAlchemyError:
        log.warning("a refused woocommerce delivery was not counted", exc_info=True)


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
        jobs.enqueue(drain, queue=jobs.INTAKE, timeout=DRAIN_TIMEOUT)  # here and now
        return
    key = _queued_key()

    def queue_if_first(marked: Any) -> None:
        if marked:
            jobs.enqueue(drain, queue=jobs.INTAKE, timeout=DRAIN_TIMEOUT)

    if not metrics.defer(lambda pipe: pipe.set(key, 1, nx=True, ex=QUEUED_TTL), queue_if_first):
        queue_if_first(jobs.redis_connection().set(key, 1, nx=True, ex=QUEUED_TTL))


def statuses() -> mapping.Statuses:
    """The merchant's custom order statuses (Admin → Settings)."""

    def names(key: str) -> frozenset[str]:
        return frozenset(
            name.strip().lower().removeprefix("wc-")
            for name in settings.get(key).split(",")
            if name.strip()
        )

    return mapping.Statuses(
        paid=names("shop_paid_statuses"), ignored=names("shop_ignored_statuses")
    )


@dataclass
class Mapped:
    """What a batch of payloads came to: the units to take, in arrival order, and per
    item either the index of its unit, ``None`` (nothing to store: a draft) or an error."""

    units: list[intake.Unit]
    outcomes: list[int | str | None]


def mapped(items: Sequence[tuple[str, Any]], shop: lookups.Shop) -> Mapped:
    """Map (topic, payload) pairs to intake units; reads what the orders need from the
    shop first (refund splits, unknown products)."""
    copies = [payload for topic, payload in items if topic != "order.deleted"]
    splits = lookups.refund_splits(copies, shop)
    known = statuses()
    result = Mapped([], [])
    for topic, payload in items:
        try:
            if topic == "order.deleted":  # carries only the id
                unit: intake.Unit = intake.Removal(SHOP, mapping.shop_order_id(payload))
            else:
                data = mapping.order_data(payload, splits, known)
                unit = intake.Copy(data, revive=topic == "order.restored")
        except mapping.NotAnOrder as exc:
            log.info("woocommerce %s: not an order (%s)", topic, exc)
            result.outcomes.append(None)
            continue
        except mapping.MappingError as exc:
            result.outcomes.append(str(exc))
            continue
        result.outcomes.append(len(result.units))
        result.units.append(unit)
    lookups.fetch_products(
        {
            line.product_id
            for unit in result.units
            if isinstance(unit, intake.Copy)
            for line in unit.data.lines
        },
        shop,
    )
    return result


def _process(rows: Sequence[Row[Any]], shop: lookups.Shop) -> list[int]:
    """Take claimed deliveries in arrival order inside the caller's transaction: orders
    stored, their commissions run, the rows marked. A row that cannot be mapped is marked
    failed for good (a replay tries it again). Returns the ids of the rows processed."""
    items: list[tuple[str, Any]] = []
    broken: dict[int, str] = {}
    for n, row in enumerate(rows):
        try:
            items.append((row.topic, json.loads(row.body)))
        except ValueError as exc:
            broken[n] = f"body is not JSON: {exc}"
            items.append((row.topic, None))
    found = mapped(items, shop)
    intake.take(found.units)
    now = utcnow()
    done, failed = [], []
    for n, (row, outcome) in enumerate(zip(rows, found.outcomes, strict=True)):
        if n in broken or isinstance(outcome, str):
            failed.append({"id": row.id, "error": broken.get(n, outcome)[:2000], "failed_at": now})
            log.warning("woocommerce delivery %s failed: %s", row.id, failed[-1]["error"])
            continue
        unit = found.units[outcome] if outcome is not None else None
        shop_order_id = (
            unit.data.shop_order_id
            if isinstance(unit, intake.Copy)
            else unit.shop_order_id
            if isinstance(unit, intake.Removal)
            else None
        )
        done.append(
            {"id": row.id, "processed_at": now, "error": None, "shop_order_id": shop_order_id}
        )
    if done:
        db.session.execute(update(WooDelivery), done)
    if failed:
        db.session.execute(update(WooDelivery), failed)
    return [row["id"] for row in done]


def _claim(*where: ColumnElement[bool]) -> list[Row[Any]]:
    """Lock the pending rows among ``where`` (PostgreSQL skips rows another drain holds;
    SQLite serialises on the UPDATE's write lock) and count the attempt; returns them in
    arrival order, with only the rows still pending once locked."""
    ids = list(
        db.session.scalars(
            select(WooDelivery.id)
            .where(*PENDING, *where)
            .order_by(WooDelivery.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # Still pending once locked (the attempt counted here may be the last one).
    mine = WooDelivery.id.in_(ids), *PENDING[:2]
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


def _failed(delivery_id: int, exc: Exception) -> None:
    """A delivery that failed on its own (the shop unreachable for its refunds, a bug):
    its attempt and error are kept in a transaction of their own; after ``MAX_ATTEMPTS``
    it waits for a replay."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning("woocommerce delivery %s failed: %s", delivery_id, error)
    mine = WooDelivery.id == delivery_id, WooDelivery.processed_at.is_(None)
    db.session.execute(
        update(WooDelivery)
        .where(*mine)
        .values(attempts=WooDelivery.attempts + 1, error=error)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(WooDelivery)
        .where(*mine, WooDelivery.attempts >= MAX_ATTEMPTS)
        .values(failed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def drain(limit: int = 5000) -> int:
    """Process pending deliveries in arrival order, ``BATCH`` per transaction — each row
    on its own when anything in its batch fails — until none are left or ``limit`` rows
    were taken (then another run is queued). Returns how many were processed."""
    if current_app.config["REDIS_URL"]:
        try:
            jobs.redis_connection().delete(_queued_key())
        except redis.RedisError:  # the mark expires by itself
            log.warning("could not clear the woocommerce drain mark", exc_info=True)
    shop = lookups.Shop()

    def run(ids: Sequence[int]) -> list[int]:
        rows = _claim(WooDelivery.id.in_(ids))
        return _process(rows, shop) if rows else []

    try:
        return _drain(limit, run)
    finally:
        shop.close()


def _drain(limit: int, run: Callable[[Sequence[int]], list[int]]) -> int:
    done = taken = last = 0
    while taken < limit:
        ids = list(
            db.session.scalars(
                select(WooDelivery.id)
                .where(*PENDING, WooDelivery.id > last)
                .order_by(WooDelivery.id)
                .limit(BATCH)
            )
        )
        db.session.rollback()  # nothing held while the batch is taken
        if not ids:
            return done
        taken += len(ids)
        last = ids[-1]
        done += len(intake.each_alone(ids, run, _failed))
    schedule_drain()
    return done


REST_TOPIC = "order.rest"  # an order read over REST that could not be taken


def keep_failed(payload: Any, error: str) -> None:
    """Keep an order a REST sync could not take as a failed delivery, in the caller's
    transaction: visible on the Shop page and replayable like one. A later sync failing on
    the same order updates its row instead of adding one."""
    try:
        shop_order_id: str | None = mapping.shop_order_id(payload)
    except mapping.MappingError:
        shop_order_id = None
    body = json.dumps(payload, default=str)
    now = utcnow()
    existing = None
    if shop_order_id is not None:
        existing = db.session.scalar(
            select(WooDelivery.id).where(
                WooDelivery.topic == REST_TOPIC,
                WooDelivery.shop_order_id == shop_order_id,
                WooDelivery.processed_at.is_(None),
            )
        )
    values = {"body": body, "error": error[:2000], "failed_at": now}
    if existing is None:
        db.session.execute(
            insert(WooDelivery).values(
                topic=REST_TOPIC,
                headers={},
                received_at=now,
                attempts=1,
                shop_order_id=shop_order_id,
                **values,
            )
        )
    else:
        db.session.execute(
            update(WooDelivery)
            .where(WooDelivery.id == existing)
            .values(attempts=WooDelivery.attempts + 1, **values)
            .execution_options(synchronize_session=False)
        )


def replay(delivery_id: int) -> bool:
    """Put a delivery back in the queue (ops' replay button). False when unknown."""
    result = db.session.execute(
        update(WooDelivery)
        .where(WooDelivery.id == delivery_id)
        .values(processed_at=None, attempts=0, error=None, failed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def failed_count() -> Any:
    return select(func.count(WooDelivery.id)).where(WooDelivery.failed_at.is_not(None))


def deliveries_query(failed: bool = False) -> Any:
    """The delivery log, newest first; ``failed``: only those waiting for a replay."""
    query = select(WooDelivery).order_by(WooDelivery.id.desc())
    return query.where(WooDelivery.failed_at.is_not(None)) if failed else query
