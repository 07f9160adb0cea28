"""Each delivery succeeds or fails alone: a poison delivery between good ones leaves the
good ones processed, keeps its reason and attempt count, shows on the Shop page and can
be replayed; a sync goes on past a poison order; the webhook answers garbage with 400."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from plugins.woocommerce_bridge import inbox
from plugins.woocommerce_bridge.models import WooDelivery
from plugins.woocommerce_bridge.signatures import sign
from portal import create_app
from portal.accounts.models import Role
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders import services as orders
from tests.helpers import free_port, login
from tests.woo import (
    API_SECRET,
    KEY,
    SECRET,
    FakeShop,
    ShopServer,
    commission_states,
    deliver,
    rest_keys,
    woo_order,
)


def poisons() -> dict[str, Any]:
    """Payloads a hostile or broken sender could sign, each with what the error says."""
    huge = woo_order(801)
    huge["line_items"][0]["total"] = "1e30"
    long_id = woo_order(802)
    long_id["id"] = "9" * 65
    meta = woo_order(803, meta=[{"id": "abc", "key": "_portal_ref", "value": "X"}])
    billing = woo_order(804)
    billing["billing"] = "buyer@example.com"
    nul_id = woo_order(805)
    nul_id["line_items"][0]["product_id"] = "93\x00"
    lines = woo_order(806)
    lines["line_items"] = "many"
    status = woo_order(807, status="shipped")
    return {
        "out of range": huge,
        "longer than 64": long_id,
        "meta id is not a number": meta,
        "billing is not an object": billing,
        "unprintable": nul_id,
        "line_items is not a list": lines,
        "unknown order status 'shipped'": status,
    }


@pytest.fixture
def stored_only(shop: Flask, app_config: dict[str, Any]) -> Any:
    """A web app whose queue is down: deliveries are stored, drained later by hand."""
    down = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    down.config["WOO_WEBHOOK_SECRET"] = SECRET
    return down.test_client()


def test_poison_deliveries_between_good_ones(shop: Flask, stored_only, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    deliver(stored_only, "order.created", woo_order(1, coupons=[code]), delivery="good-1")
    for n, payload in enumerate(poisons().values()):
        assert deliver(stored_only, "order.created", payload, delivery=f"p{n}").status_code == 200
    named = woo_order(2, coupons=[code])
    named["line_items"][0]["name"] = "Tea\x00\x07 time"  # display-only: cleaned, not refused
    deliver(stored_only, "order.created", named, delivery="good-2")
    with shop.app_context():
        assert inbox.drain() == 2
        assert inbox.drain() == 0  # the poison is not retried by itself
        failed = db.session.scalars(select(WooDelivery).where(WooDelivery.failed_at.is_not(None)))
        errors = {d.delivery_id: (d.error, d.attempts) for d in failed}
        assert orders.find("woocommerce", "2").lines[0].name == "Tea time"
        assert ledger.verify() == []
    assert (
        commission_states(shop, "1") == commission_states(shop, "2") == [(1, "pending", D("10.00"))]
    )
    for n, reason in enumerate(poisons()):
        error, attempts = errors[f"p{n}"]
        assert reason in error and attempts == 1, (reason, error)


def test_a_failed_delivery_is_listed_and_replayed(
    shop: Flask, stored_only, client, make_user, make_distributor
) -> None:
    from portal.settings import services as settings

    _, code = make_distributor("seller@shop.example")
    deliver(stored_only, "order.updated", woo_order(7, status="shipped", coupons=[code]))
    with shop.app_context():
        inbox.drain()
        delivery = db.session.scalars(select(WooDelivery)).one()
        assert delivery.failed_at is not None
    make_user("ops@shop.example", Role.OPS)
    login(client, "ops@shop.example")
    page = client.get("/admin/shop?failed=1")
    assert "unknown order status &#39;shipped&#39;" in page.text
    # The merchant says "shipped" counts as paid, then replays the delivery.
    with shop.app_context():
        from portal.accounts.models import User

        admin = db.session.scalars(select(User)).first()
        settings.update({"shop_paid_statuses": "shipped"}, admin)
        db.session.commit()
    token = client.get("/admin/shop").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post(f"/admin/shop/deliveries/{delivery.id}/replay", data={"csrf_token": token})
    assert commission_states(shop, "7") == [(1, "pending", D("10.00"))]
    with shop.app_context():
        assert orders.find("woocommerce", "7").status == "processing"


def test_a_delivery_that_fails_on_its_own_keeps_its_attempts(
    shop: Flask, stored_only, make_distributor
) -> None:
    """The refund split cannot be read (the shop is down): that delivery fails alone,
    its attempt counted though its transaction rolled back, and it is retried until
    ``MAX_ATTEMPTS``; the delivery after it is processed."""
    _, code = make_distributor("seller@shop.example")
    refunded = woo_order(3, coupons=[code], refunds=[{"id": 9, "total": "-11.00"}])
    deliver(stored_only, "order.created", refunded, delivery="needs-rest")
    deliver(stored_only, "order.created", woo_order(4, coupons=[code]), delivery="plain")
    shop.config.update(WOO_STORE_URL=f"http://127.0.0.1:{free_port()}", WOO_CONSUMER_KEY=KEY)
    shop.config.update(WOO_CONSUMER_SECRET=API_SECRET)
    try:
        with shop.app_context():
            assert inbox.drain() == 1
            row = db.session.scalar(
                select(WooDelivery).where(WooDelivery.delivery_id == "needs-rest")
            )
            assert row.attempts == 1 and row.failed_at is None and "unreachable" in row.error
            for _ in range(inbox.MAX_ATTEMPTS + 2):
                inbox.drain()
            db.session.refresh(row)
            assert row.attempts == inbox.MAX_ATTEMPTS and row.failed_at is not None
    finally:
        shop.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")
    assert commission_states(shop, "4") == [(1, "pending", D("10.00"))]
    assert commission_states(shop, "3") == []


def test_a_sync_goes_on_past_a_poison_order(shop: Flask, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    fake = FakeShop()
    for n in range(1, 6):
        fake.orders[n] = woo_order(n, modified=f"2026-11-20T10:0{n}:00", coupons=[code])
    fake.orders[3]["line_items"][0]["total"] = "1e30"
    with ShopServer(fake) as server, rest_keys(shop, server.url):
        result = shop.test_cli_runner().invoke(args=["woo", "sync", "--full"])
        again = shop.test_cli_runner().invoke(args=["woo", "sync", "--full"])
    assert result.exit_code == 0, result.output
    assert "4 order(s), 4 changed" in result.output
    assert again.exit_code == 0 and "4 order(s), 0 changed" in again.output
    with shop.app_context():
        kept = db.session.scalars(select(WooDelivery)).one()  # once, though synced twice
        assert (kept.topic, kept.shop_order_id, kept.attempts) == (inbox.REST_TOPIC, "3", 2)
        assert "out of range" in kept.error and json.loads(kept.body)["id"] == 3
    for n in (1, 2, 4, 5):
        assert commission_states(shop, str(n)) == [(1, "pending", D("10.00"))]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"[" * 100_000 + b"]" * 100_000, {}),  # nested too deep to parse
        (b'{"id": 1, "note": "a\x00b"}', {}),  # a raw NUL byte
        (json.dumps(woo_order()).encode(), {"X-WC-Webhook-Delivery-ID": "d" * 129}),
        (json.dumps(woo_order()).encode(), {"X-WC-Webhook-ID": "9" * 33}),
    ],
)
def test_the_webhook_answers_garbage_with_400(shop: Flask, client, body, headers) -> None:
    signed = {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Signature": sign(SECRET, body),
        "X-WC-Webhook-ID": "4",
        "X-WC-Webhook-Delivery-ID": "d1",
        **headers,
    }
    response = client.post("/woocommerce/webhook", data=body, headers=signed)
    assert response.status_code == 400
    with shop.app_context():
        assert db.session.scalar(select(WooDelivery.id)) is None


def test_a_signature_with_unusual_characters_is_refused(shop: Flask, client) -> None:
    body = json.dumps(woo_order()).encode()
    response = client.post(
        "/woocommerce/webhook",
        data=body,
        headers={"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": "é" * 44},
    )
    assert response.status_code == 401
