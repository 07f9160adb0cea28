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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select

from plugins.woocommerce_bridge import inbox, mapping
from plugins.woocommerce_bridge.models import WooDelivery
from portal import create_app, jobs
from portal.commissions import services as commissions
from portal.commissions.models import Commission
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders import intake
from portal.orders import services as orders
from portal.orders.models import CustomerBinding, Order
from tests.helpers import run_together
from tests.woo import API_SECRET, KEY, SECRET, FakeShop, LazyOrders, ShopServer, deliver, woo_order

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class World:
    """One set of distributors, customers and order ids."""

    def __init__(self, make_distributor: Callable[..., tuple[int, str]], name: str, base: int):
        self.name, self.base = name, base
        parent, _ = make_distributor(f"parent@{name}.example")
        seller, self.seller = make_distributor(f"seller@{name}.example", parent_id=parent)
        other, self.other = make_distributor(f"other@{name}.example")
        self.roles = {parent: "parent", seller: "seller", other: "other"}

    def order(self, n: int, minutes: int, **changes: Any) -> dict[str, Any]:
        """Order ``n`` of this world as the shop shows it ``minutes`` after T0."""
        coupon = changes.pop("coupon", None)
        payload = woo_order(
            self.base + n,
            status=changes.pop("status", "processing"),
            modified=(T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
            coupons=[coupon] if coupon else [],
            refunds=changes.pop("refunds", None),
        )
        payload["date_created_gmt"] = (T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S")
        payload["billing"]["email"] = f"buyer{n % 7}@{self.name}.example"
        if payload["status"] in ("completed", "refunded"):
            payload["date_completed_gmt"] = payload["date_modified_gmt"]
        payload.update(changes)
        return payload

    def story(self) -> list[dict[str, Any]]:
        """Over two pages of 100 copies, in the order the shop lists them."""
        s, o = self.seller, self.other
        copies = [self.order(n, n, coupon=(s, o, None, s, None)[n % 5]) for n in range(1, 201)]
        done = self.order(5, 300, status="completed", coupon=s)
        copies[10:10] = [done, self.order(5, 6, coupon=s), done]  # newer, older, duplicate
        copies[20:20] = [self.order(2, 301, coupon=s)]  # attributed by a later copy only
        copies[30:30] = [self.order(1, 302, coupon=s)]  # a later coupon does not steal it
        short = self.order(8, 303, coupon=s)
        short["line_items"] = short["line_items"][:1]
        copies[40:40] = [short, self.order(8, 304, status="completed", coupon=s)]  # line back
        bad = self.order(250, 305, coupon=s)
        bad["line_items"][0]["total"] = "lots"
        copies[50:50] = [bad]
        partial = [{"id": 1, "total": "-33.00"}]  # goods 30.00 of the total 110.00
        copies.append(self.order(5, 400, status="completed", coupon=s, refunds=partial))
        copies.append(self.order(6, 401, status="cancelled", coupon=s))
        full = [{"id": 2, "total": "-110.00"}]
        copies.append(self.order(10, 402, status="refunded", coupon=s, refunds=full))
        copies += [self.order(n, 500 + n, status="completed", coupon=s) for n in range(11, 25)]
        return copies

    def snapshot(self, app: Flask) -> dict[str, Any]:
        """Everything the story changed, by natural keys."""
        with app.app_context():
            roles = self.roles
            ids = range(self.base, self.base + 1000)
            mine = [
                o
                for o in db.session.scalars(select(Order).order_by(Order.shop_order_id))
                if int(o.shop_order_id) in ids
            ]
            stored = {
                int(o.shop_order_id) - self.base: (
                    o.status,
                    o.net_total,
                    o.refunded_unallocated,
                    roles.get(o.distributor_id),
                    o.attribution_method,
                    sorted((line.shop_line_id, line.qty, line.total) for line in o.lines),
                )
                for o in mine
            }
            by_order = {o.id: int(o.shop_order_id) - self.base for o in mine}
            earned = sorted(
                (by_order[c.order_id], roles[c.beneficiary_id], c.depth, c.state.value, c.amount)
                for c in db.session.scalars(
                    select(Commission).where(Commission.order_id.in_(by_order))
                )
            )
            balances = {
                role: {bucket.value: amount for bucket, amount in ledger.balances(i).items()}
                for i, role in roles.items()
            }
            bound = sorted(
                (b.kind, b.customer_key.split("@")[0], roles[b.distributor_id], b.expires_at)
                for b in db.session.scalars(select(CustomerBinding))
                if b.customer_key.endswith(f"@{self.name}.example")
            )
            return {"orders": stored, "commissions": earned, "balances": balances, "bound": bound}


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
    with ShopServer(fake) as server:
        shop.config.update(
            WOO_STORE_URL=server.url, WOO_CONSUMER_KEY=KEY, WOO_CONSUMER_SECRET=API_SECRET
        )
        try:
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
        finally:
            shop.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")
    assert batched.snapshot(shop) == expected
    with shop.app_context():
        assert ledger.verify() == []


def deliveries(world: World) -> list[tuple[str, dict[str, Any] | bytes]]:
    """The story as webhook deliveries, with a deletion, a restore and two bad bodies."""
    topics: list[tuple[str, dict[str, Any] | bytes]] = [
        ("order.updated", payload) for payload in world.story()
    ]
    topics[60:60] = [
        ("order.deleted", {"id": world.base + 7}),
        ("order.deleted", {"id": world.base + 12}),
        ("order.restored", world.order(12, 10**6, status="processing", coupon=world.seller)),
        ("order.deleted", {"no": "id"}),
    ]
    return topics


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
    queue = jobs.queue(queued)
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
