"""REST reconciliation against a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import func, select

from plugins.woocommerce_bridge import sync
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooDelivery, WooSyncState
from portal.cli import cli
from portal.commissions.models import PlanOverride
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.models import Order
from tests.woo import (
    API_SECRET,
    KEY,
    FakeShop,
    ShopServer,
    commission_states,
    deliver,
    rest_keys,
    woo_order,
)


@pytest.fixture
def woo(shop: Flask) -> Iterator[tuple[FakeShop, Flask]]:
    fake = FakeShop()
    with ShopServer(fake) as server, rest_keys(shop, server.url):
        yield fake, shop


def category_rule(app: Flask) -> None:
    """Category 15 earns 20 % at depth 1 (the plan pays 10 %)."""
    from portal.commissions.models import CommissionPlan

    with app.app_context():
        plan = db.session.scalar(select(CommissionPlan))
        db.session.add(
            PlanOverride(
                plan=plan, scope="category", target_id="15", depth=1, kind="percent", value=D("20")
            )
        )
        db.session.commit()


def run_sync(app: Flask, *args: str):
    return app.test_cli_runner().invoke(cli, ["woo", "sync", *args])


def test_sync_after_missed_deliveries_equals_receiving_them(woo, client, make_distributor) -> None:
    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    created = woo_order(1, coupons=[code])
    done = woo_order(
        1,
        status="completed",
        modified="2026-11-20T11:00:00",
        completed="2026-11-20T11:00:00",
        coupons=[code],
    )
    refunded = {
        **done,
        "date_modified_gmt": "2026-11-21T08:00:00",
        "refunds": [{"id": 9, "total": "-33.00"}],  # goods 30.00 of 110.00
    }
    for n, payload in enumerate((created, done, refunded)):  # order 1: every delivery
        fake.orders[1] = payload  # the shop has it as it was delivered
        deliver(client, "order.created" if n == 0 else "order.updated", payload, delivery=f"w{n}")
    fake.orders[2] = {**refunded, "id": 2, "number": "2"}  # order 2: deliveries lost
    result = run_sync(app)
    assert result.exit_code == 0, result.output
    assert "synced 0 product(s), 2 order(s), 1 changed" in result.output
    assert commission_states(app, "2") == commission_states(app, "1")
    assert commission_states(app, "2")[0][2] == D("7.00")


def test_pagination_retry_and_resume(woo, make_distributor) -> None:
    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    for n in range(1, 231):
        fake.orders[n] = woo_order(
            n, modified=f"2026-11-{1 + n // 24:02d}T{n % 24:02d}:00:00", coupons=[code]
        )
    fake.throttle_next = 1
    first = run_sync(app)
    assert first.exit_code == 0, first.output
    assert "230 order(s), 230 changed" in first.output
    assert any("page=3" in r for r in fake.requests)
    with app.app_context():
        assert db.session.scalar(select(func.count(Order.id))) == 230
        watermark = db.session.get(WooSyncState, 1).orders_modified_after
        assert watermark.isoformat().startswith("2026-11-10T14:00:00")
    fake.requests.clear()
    again = run_sync(app)
    assert "0 changed" in again.output  # only the overlap at the watermark is re-read
    listed = [r for r in fake.requests if "/orders?" in r and "include" not in r]
    assert listed and all("modified_after=2026-11-10T13%3A59%3A58" in r for r in listed)


def test_categories_from_the_catalogue_drive_overrides(woo, make_distributor) -> None:
    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    fake.products[93] = {
        "id": 93,
        "name": "Tea",
        "price": "30",
        "categories": [{"id": 15}],
        "permalink": "https://shop.example/tea",
        "images": [],
    }
    category_rule(app)
    fake.orders[5] = woo_order(5, coupons=[code])
    assert run_sync(app).exit_code == 0
    assert commission_states(app, "5")[0][2] == D("16.00")  # 60 × 20 % + 40 × 10 %
    with app.app_context():
        order = orders.find("woocommerce", "5")
        assert order.lines[0].category_ids == ["15"]


def test_wrong_keys_and_unreachable_shop_are_one_readable_line(woo) -> None:
    _fake, app = woo
    app.config["WOO_CONSUMER_SECRET"] = "wrong"
    result = run_sync(app)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: the shop refused the key and secret signed with OAuth 1.0a over plain HTTP: "
        "Invalid signature - provided signature does not match."
    ]
    with app.app_context():
        assert "refused" in db.session.get(WooSyncState, 1).last_error
    with pytest.raises(WooError, match="not an http"):
        WooClient("ftp://shop.example", KEY, API_SECRET)
    down = WooClient("http://127.0.0.1:1", KEY, API_SECRET, retries=1, backoff=0)
    with pytest.raises(WooError, match="unreachable"):
        down.request("GET", "/orders")
    assert run_sync(app, "--since", "yesterday").output.startswith(
        "Error: --since is not an ISO date"
    )


def test_the_periodic_job_waits_for_configuration(shop: Flask) -> None:
    with shop.app_context():
        sync.periodic_reconcile()  # no keys configured: nothing happens, nothing fails
        assert db.session.get(WooSyncState, 1) is None


def test_shop_connection_page(woo, admin_client, make_user, client) -> None:
    from portal.accounts.models import Role
    from tests.helpers import csrf_token, login

    fake, app = woo
    fake.orders[1] = woo_order(1)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "http://localhost/woocommerce/webhook" in page and "wh-secret-123" in page
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    login(ops, "ops@shop.example")
    ops_page = ops.get("/admin/shop").get_data(as_text=True)
    assert "wh-secret-123" not in ops_page and "wh-•" in ops_page

    token = csrf_token(admin_client, "/admin/shop")
    tested = admin_client.post(
        "/admin/shop/test", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert "Connected. The shop reports 1 orders." in tested.get_data(as_text=True)
    app.config["WOO_CONSUMER_SECRET"] = "wrong"
    refused = admin_client.post(
        "/admin/shop/test", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert "refused the key and secret signed with OAuth" in refused.get_data(as_text=True)

    bad = woo_order(3)
    bad["line_items"][0]["total"] = "lots"
    deliver(client, "order.created", bad)
    with app.app_context():
        delivery_id = db.session.scalar(select(WooDelivery.id))
    listing = admin_client.get("/admin/shop", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert listing.lstrip().startswith('<div id="deliveries">') and "not an amount" in listing
    replayed = admin_client.post(
        f"/admin/shop/deliveries/{delivery_id}/replay",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert replayed.status_code == 200
    assert replayed.get_data(as_text=True).lstrip().startswith(f'<tr id="delivery-{delivery_id}"')
    with app.app_context():  # replayed and drained again: still failing, error kept
        delivery = db.session.get(WooDelivery, delivery_id)
        assert delivery.attempts == 1 and "not an amount" in delivery.error
    assert (
        admin_client.post(
            "/admin/shop/deliveries/999/replay", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_admin_issues_a_personal_coupon(woo, admin_client, client, make_distributor) -> None:
    from portal.audit.models import AuditEntry
    from tests.helpers import csrf_token

    fake, app = woo
    _, code = make_distributor("seller@shop.example", name="Seller")
    token = csrf_token(admin_client, "/admin/shop")
    response = admin_client.post(
        "/admin/shop/coupons", data={"csrf_token": token, "code": code.lower(), "percent": "12.5"}
    )
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Coupon {code} created in the shop." in page
    shop_coupon = fake.coupons[code.lower()]
    assert (shop_coupon["discount_type"], shop_coupon["amount"]) == ("percent", "12.5")
    again = admin_client.post(
        "/admin/shop/coupons", data={"csrf_token": token, "code": code, "percent": "10"}
    )
    assert "already issued" in admin_client.get(again.headers["Location"]).get_data(as_text=True)
    _, taken = make_distributor("taken@shop.example")
    fake.coupons[taken.lower()] = {"id": 1, "code": taken}  # made by hand in the shop
    refused = admin_client.post(
        "/admin/shop/coupons", data={"csrf_token": token, "code": taken, "percent": "10"}
    )
    assert "the shop refused: The coupon code already exists" in admin_client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "coupon.issue")
        ).one()
    for data, needle in (
        ({"code": "ZZZZZZ", "percent": "10"}, "No active distributor"),
        ({"code": code, "percent": "0"}, "The coupon was not created"),
    ):
        bad = admin_client.post("/admin/shop/coupons", data={"csrf_token": token, **data})
        assert needle in admin_client.get(bad.headers["Location"]).get_data(as_text=True)
    deliver(client, "order.created", woo_order(9, coupons=[code.lower()]))
    assert commission_states(app, "9")[0][2] == D("10.00")  # the coupon attributes the order


def test_a_product_newer_than_the_catalogue_is_read_before_its_order(
    woo, client, make_distributor
) -> None:
    """A category rule, and an order for a product the last catalogue sync did not see:
    the product is read over REST before the order is computed."""
    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    fake.products[93] = {"id": 93, "name": "Tea", "categories": [{"id": 15}], "images": []}
    category_rule(app)
    assert deliver(client, "order.created", woo_order(5, coupons=[code])).status_code == 200
    assert commission_states(app, "5")[0][2] == D("16.00")  # 60 × 20 % + 40 × 10 %
    reads = [r for r in fake.requests if r.startswith("GET /wp-json/wc/v3/products?")]
    assert len(reads) == 1 and "include=22%2C93" in reads[0]
    deliver(client, "order.created", woo_order(6, coupons=[code]), delivery="d2")
    assert len([r for r in fake.requests if "/products?" in r]) == 1  # known now (22: gone)


def test_reconcile_reads_the_trash_and_finds_orders_deleted_for_good(
    woo, client, make_distributor
) -> None:
    from tests.helpers import login

    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    for n in (1, 2, 3):
        fake.orders[n] = woo_order(n, modified=f"2026-11-20T10:0{n}:00", coupons=[code])
    assert run_sync(app).exit_code == 0
    assert commission_states(app, "3") == [(1, "pending", D("10.00"))]
    # In the shop: order 2 moved to the trash (no webhook arrived), order 3 deleted for
    # good (WooCommerce sends no webhook for that at all).
    fake.orders[2] = {
        **fake.orders[2],
        "status": "trash",
        "date_modified_gmt": "2026-11-21T09:00:00",
    }
    del fake.orders[3]
    result = run_sync(app)
    assert result.exit_code == 0, result.output
    assert commission_states(app, "2") == [(1, "reversed", D("0"))]
    assert commission_states(app, "3") == [(1, "reversed", D("0"))]
    assert commission_states(app, "1") == [(1, "pending", D("10.00"))]
    with app.app_context():
        gone = orders.find("woocommerce", "3")
        assert (orders.find("woocommerce", "2").status, gone.status) == ("trash", "deleted")
        gone_id = gone.id
    login(client, "seller@shop.example")
    page = client.get(f"/me/orders/{gone_id}")
    assert "Deleted in the shop" in page.text
    assert "The shop no longer has this order, so its commission was reversed." in page.text
