"""Webhook health against the loopback shop: disabled webhooks, re-activation (which
keeps WooCommerce's failure count), repair, deliveries refused with a wrong secret,
orders only a reconcile brought, the currency read on every reconcile, /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from plugins.woocommerce_bridge import health, sync
from plugins.woocommerce_bridge.models import WooConnection
from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.settings import services as settings
from tests.helpers import csrf_token, login
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer, deliver, rest_keys, woo_order


@pytest.fixture
def connected(app: Flask, admin_client) -> Iterator[tuple[FakeShop, Flask]]:
    """A shop connected from the Shop page (no WOO_* settings)."""
    shop = FakeShop()
    with ShopServer(shop) as server:
        token = csrf_token(admin_client, "/admin/shop")
        data = {"store_url": server.url, "consumer_key": KEY, "consumer_secret": API_SECRET}
        answer = admin_client.post("/admin/shop/connect", data={**data, "csrf_token": token})
        assert answer.status_code == 302
        yield shop, app


def reconcile(app: Flask) -> None:
    with app.app_context():
        sync.reconcile()


def post(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/shop")})


def gauge(client, name: str, labels: str = "") -> float:
    text = client.get("/metrics").get_data(as_text=True)
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, text
    return float(match[1])


def secret_of(shop: FakeShop) -> str:
    return next(iter(shop.webhooks.values()))["secret"]


def test_a_disabled_webhook_is_shown_reactivated_and_replaced(connected, admin_client) -> None:
    shop, app = connected
    assert gauge(admin_client, "portal_shop_webhooks", '{status="active"}') == 4
    shop.fail_deliveries(2, 6)  # the portal was down: order.updated is disabled
    assert shop.webhooks[2]["status"] == "disabled"
    reconcile(app)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    row = page[page.index('id="webhook-2"') :].split("</tr>")[0]
    assert "disabled" in row and "Re-activate" in row
    assert "keeps its failure count" in page
    assert gauge(admin_client, "portal_shop_webhooks", '{status="disabled"}') == 1

    answer = post(admin_client, "/admin/shop/webhooks/2/activate")
    assert answer.status_code == 302
    assert shop.webhooks[2]["status"] == "active" and shop.webhooks[2]["failure_count"] == 6
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "one more failed delivery disables it again" in page
    shop.fail_deliveries(2)  # what the page warned of
    assert shop.webhooks[2]["status"] == "disabled"
    assert post(admin_client, "/admin/shop/webhooks/99/activate").status_code == 404

    reconcile(app)
    assert post(admin_client, "/admin/shop/webhooks/repair").status_code == 302
    assert 2 not in shop.webhooks  # replaced: a new webhook starts from zero failures
    updated = [h for h in shop.webhooks.values() if h["topic"] == "order.updated"]
    assert len(updated) == 1 and updated[0]["failure_count"] == 0
    assert {h["status"] for h in shop.webhooks.values()} == {"active"} and len(shop.webhooks) == 4
    assert gauge(admin_client, "portal_shop_webhooks", '{status="disabled"}') == 0
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"shop.webhook_activate", "shop.webhooks_repair"} <= actions


def test_repair_makes_missing_webhooks_and_ops_may_only_reactivate(
    connected, admin_client, make_user
) -> None:
    shop, app = connected
    del shop.webhooks[3], shop.webhooks[4]
    reconcile(app)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert page.count(">missing<") == 2
    assert gauge(admin_client, "portal_shop_webhooks", '{status="missing"}') == 2
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    login(ops, "ops@shop.example")
    assert post(ops, "/admin/shop/webhooks/repair").status_code == 403
    shop.webhooks[1]["status"] = "paused"
    reconcile(app)
    assert post(ops, "/admin/shop/webhooks/1/activate").status_code == 302
    assert shop.webhooks[1]["status"] == "active"
    assert post(admin_client, "/admin/shop/webhooks/repair").status_code == 302
    assert sorted(h["topic"] for h in shop.webhooks.values()) == sorted(health.TOPICS)


def test_refused_deliveries_are_counted_until_the_secret_is_set_again(
    connected, admin_client, client
) -> None:
    shop, _app = connected
    for _n in range(2):
        answer = deliver(client, "order.updated", woo_order(1), secret="old-secret")
        assert answer.status_code == 401
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert re.search(r'id="unauthorized">2<', page)
    assert "the shop signs with another secret" in page
    assert gauge(admin_client, "portal_shop_unauthorized_deliveries") == 2
    for hook in shop.webhooks.values():
        hook["secret"] = "old-secret"  # someone edited them in WooCommerce
    assert post(admin_client, "/admin/shop/webhooks/repair").status_code == 302
    assert gauge(admin_client, "portal_shop_unauthorized_deliveries") == 0
    assert {h["secret"] for h in shop.webhooks.values()} != {"old-secret"}
    assert deliver(client, "order.updated", woo_order(1), secret=secret_of(shop)).status_code == 200


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S")


def test_orders_only_a_reconcile_brought_are_counted_until_a_delivery_comes(
    connected, admin_client, client
) -> None:
    shop, app = connected
    with app.app_context():  # the webhooks have existed for a day
        db.session.get(WooConnection, 1).webhooks_since = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
    secret = secret_of(shop)
    shop.orders[1] = woo_order(1, modified=_ago(hours=1))
    assert deliver(client, "order.created", shop.orders[1], secret=secret).status_code == 200
    shop.orders[2] = woo_order(2, modified=_ago(hours=1))  # its webhook never came
    shop.orders[3] = woo_order(3, modified=_ago(minutes=1))  # its webhook may still come
    shop.orders[4] = woo_order(4, modified=_ago(days=3))  # before the webhooks existed
    reconcile(app)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert re.search(r'id="missed">1<', page)
    assert "found these orders changed before any webhook brought them: 2." in page
    assert gauge(admin_client, "portal_shop_orders_without_webhook") == 1

    assert deliver(client, "order.created", shop.orders[2], secret=secret).status_code == 200
    assert gauge(admin_client, "portal_shop_orders_without_webhook") == 0  # late, but came


def test_every_reconcile_reads_the_currency_and_a_difference_is_shown(
    connected, admin_client, make_user, client
) -> None:
    shop, app = connected
    assert deliver(client, "order.created", woo_order(1), secret=secret_of(shop)).status_code == 200
    with app.app_context():
        assert settings.get("currency") == "USD"
    shop.currency = "CNY"  # the merchant switched the shop, which has orders in USD
    reconcile(app)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert 'id="currency-mismatch"' in page and "Count in CNY" in page
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    login(ops, "ops@shop.example")
    assert "Count in CNY" not in ops.get("/admin/shop").get_data(as_text=True)
    assert post(ops, "/admin/shop/currency").status_code == 403
    assert post(admin_client, "/admin/shop/currency").status_code == 302
    with app.app_context():
        assert settings.get("currency") == "CNY"
    assert 'id="currency-mismatch"' not in admin_client.get("/admin/shop").get_data(as_text=True)


def test_a_shop_configured_in_the_environment_gets_its_currency_on_reconcile(
    shop: Flask,
) -> None:
    fake = FakeShop(currency="CNY", timezone_string="", gmt_offset="5.5")
    with ShopServer(fake) as server, rest_keys(shop, server.url):
        reconcile(shop)
    with shop.app_context():
        from portal import storefront

        front = storefront.current()
        assert (front.currency, front.timezone, front.utc_offset) == ("CNY", "", "+05:30")
        assert settings.get("currency") == "CNY"  # no order yet: taken
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "setting.update"))
        assert entry.actor_id is None  # the system's doing


def test_a_portal_with_orders_keeps_its_currency_on_reconcile(shop: Flask, client) -> None:
    assert deliver(client, "order.created", woo_order(1)).status_code == 200
    fake = FakeShop(currency="CNY")
    with ShopServer(fake) as server, rest_keys(shop, server.url):
        reconcile(shop)
    with shop.app_context():
        from portal import storefront

        assert settings.get("currency") == "USD" and storefront.currency_differs()
