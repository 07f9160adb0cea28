"""Batched storing (a sync page, a drain batch) ends where storing one by one ends.

Each test plays one story — the copies of orders a shop shows over time, with duplicates,
out-of-order copies, an attribution that only a later copy carries, a line removed and
brought back, refunds in later pages, deletions and restores — once one copy at a time
(``store_order`` then ``apply_orders`` per copy, the reference) and once batched, for a
second set of distributors, customers and order ids in the same database, and compares
the two worlds by their natural keys.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from plugins.woocommerce_bridge import inbox, mapping
from plugins.woocommerce_bridge.models import WooDelivery
from portal import create_app, intake, jobs
from portal.commissions import services as commissions
from portal.commissions.models import Commission
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders import services as orders
from portal.orders.models import Order
from tests.helpers import run_together
from tests.stories import World, deliveries
from tests.woo import (
    SECRET,
    FakeShop,
    LazyOrders,
    ShopServer,
    deliver,
    rest_keys,
    woo_order,
)


def one_by_one(app: Flask, copies: list[dict[str, Any]]) -> None:
    """The reference: each copy mapped, stored and applied on its own."""
    with app.app_context():
        for payload in copies:
            try:
                data = mapping.order_data(payload)
            except mapping.MappingError:
                continue
            (data,) = intake.prepare([data])
            commissions.apply_orders([orders.store_order(data).order_id])


@pytest.mark.slow
def test_a_synced_page_ends_like_orders_stored_one_by_one(shop, make_distributor) -> None:
    reference = World(make_distributor, "one", 1000)
    batched = World(make_distributor, "page", 5000)
    one_by_one(shop, reference.story())
    expected = reference.snapshot(shop)
    assert expected["orders"][5][0] == "completed" and expected["orders"][5][2] == D("30.00")
    assert expected["orders"][2][3] == "seller" and expected["orders"][1][3] == "other"
    assert len(expected["orders"][8][5]) == 2 and expected["orders"][10][1] == 0
    assert expected["bound"] and 250 not in expected["orders"]

    copies = batched.story()
    fake = FakeShop(lazy_orders=LazyOrders(len(copies), lambda n: copies[n - 1]))
    with ShopServer(fake) as server, rest_keys(shop, server.url):
        runner = shop.test_cli_runner()
        first = runner.invoke(args=["woo", "sync", "--full"])
        assert first.exit_code == 0, first.output
        assert batched.snapshot(shop) == expected
        listed = [r for r in fake.requests if "/orders?" in r and "include" not in r]
        assert sum("status=any" in r for r in listed) == 3  # 230 copies, 3 pages
        assert sum("status=trash" in r for r in listed) == 1  # and the trash
        refunds = [r for r in fake.requests if "/refunds" in r]
        assert refunds == ["GET /wp-json/wc/v3/refunds?include=1%2C2&per_page=100"]
        again = runner.invoke(args=["woo", "sync", "--full"])  # idempotent re-run
        assert again.exit_code == 0, again.output
        assert again.output.strip().endswith(f"{len(copies) - 1} order(s), 0 changed")
    assert batched.snapshot(shop) == expected
    with shop.app_context():
        assert ledger.verify() == []


@pytest.mark.slow
def test_a_drained_batch_ends_like_deliveries_drained_one_by_one(
    shop, app_config, make_distributor
) -> None:
    reference = World(make_distributor, "one", 1000)
    batched = World(make_distributor, "drain", 5000)
    client = shop.test_client()  # no Redis: each delivery is drained as it arrives
    for n, (topic, payload) in enumerate(deliveries(reference)):
        assert deliver(client, topic, payload, delivery=f"r{n}").status_code == 200
    expected = reference.snapshot(shop)
    assert expected["orders"][7][0] == "trash" and expected["orders"][12][0] == "processing"

    down = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    down.config["WOO_WEBHOOK_SECRET"] = SECRET
    stored = down.test_client()  # stored, the queue unreachable: nothing drained yet
    for n, (topic, payload) in enumerate(deliveries(batched)):
        assert deliver(stored, topic, payload, delivery=f"b{n}").status_code == 200
    with shop.app_context():
        # Every delivery but the bad total and the deletion without an id.
        assert inbox.drain() == len(deliveries(batched)) - 2
        failed = db.session.scalars(
            select(WooDelivery).where(
                WooDelivery.error.is_not(None), WooDelivery.delivery_id.startswith("b")
            )
        )
        assert sorted(d.attempts for d in failed) == [1, 1]
        assert inbox.drain() == 0  # tried once per run
    assert batched.snapshot(shop) == expected
    with shop.app_context():
        assert ledger.verify() == []


def test_two_drains_racing_for_the_same_new_orders(shop, app_config, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    down = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    down.config["WOO_WEBHOOK_SECRET"] = SECRET
    client = down.test_client()
    # Orders 1..150, then a newer copy of each: the batches of two drains share orders.
    for n in range(300):
        modified = "2026-11-20T10:00:00" if n < 150 else "2026-11-20T11:00:00"
        payload = woo_order(1 + n % 150, modified=modified, coupons=[code])
        deliver(client, "order.updated", payload, delivery=str(n))
    assert run_together(shop, inbox.drain, inbox.drain) == []
    with shop.app_context():
        inbox.drain()  # whatever a drain left to the other one's next run
        assert (
            db.session.scalar(
                select(func.count(WooDelivery.id)).where(WooDelivery.processed_at.is_(None))
            )
            == 0
        )
        assert db.session.scalar(select(func.count(Order.id))) == 150
        modified = set(db.session.scalars(select(Order.modified_at_shop)))
        assert {m.hour for m in modified} == {11}
        assert db.session.scalar(select(func.count(Commission.id))) == 150
        assert ledger.verify() == []


def test_deliveries_share_one_queued_drain(shop, app_config, redis_url, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    queued = create_app({**app_config, "REDIS_URL": redis_url})
    queued.config["WOO_WEBHOOK_SECRET"] = SECRET
    client = queued.test_client()
    for n in range(5):
        deliver(client, "order.created", woo_order(n + 1, coupons=[code]), delivery=str(n))
    queue = jobs.queue(jobs.INTAKE, queued)
    assert queue.count == 1  # five deliveries, one drain waiting for them
    with queued.app_context():
        assert inbox.drain() == 5  # the queued job's work, done here
    deliver(client, "order.created", woo_order(9, coupons=[code]), delivery="9")
    assert queue.count == 2  # stored after the drain started: queues the next one
    with queued.app_context():
        body = json.dumps(woo_order(10, coupons=[code])).encode()
        for n in range(inbox.BATCH + 20):
            inbox.store("order.updated", {"X-WC-Webhook-Delivery-ID": f"s{n}"}, body)
        assert inbox.drain(limit=inbox.BATCH) == inbox.BATCH  # then it queues the rest
        assert queue.count == 3
        assert inbox.drain() == 21


def test_mapping_a_batch_costs_the_same_queries_whatever_its_size(shop, make_distributor) -> None:
    """Categories, stored copies and attribution (codes, bindings, bound distributors)
    are looked up once per batch, not once per order."""
    world = World(make_distributor, "count", 9000)
    one_by_one(shop, [world.order(n, n, coupon=world.seller) for n in range(1, 8)])  # binds

    def statements(copies: list[dict[str, Any]]) -> int:
        seen: list[str] = []
        with shop.app_context():
            listen = lambda *args: seen.append(args[2])  # noqa: E731
            event.listen(db.engine, "before_cursor_execute", listen)
            try:
                mapped = intake.prepare([mapping.order_data(p) for p in copies])
            finally:
                event.remove(db.engine, "before_cursor_execute", listen)
                db.session.rollback()
        assert all(isinstance(d, orders.OrderData) for d in mapped)
        assert {d.attribution.method for d in mapped} == {"coupon", "binding"}
        return len(seen)

    def batch(size: int) -> list[dict[str, Any]]:
        return [
            world.order(n, 1000 + n, coupon=(world.seller, world.other, None)[n % 3])
            for n in range(20, 20 + size)
        ]

    assert statements(batch(6)) == statements(batch(60))
