"""The WooCommerce set-up as a merchant does it, in Chromium: the shop's address and REST
keys entered on the Shop page, the portal creating its four webhooks in the shop over
REST, *Test connection*, a delivery signed with the secret the shop was given showing up
in the delivery log, and a webhook the shop disabled shown with *Re-activate*.

The screenshots the README shows come from this test: run it with
``PORTAL_SCREENSHOTS=docs/screenshots`` to refresh them (otherwise they go to a temp
folder and are only checked to be real images)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from plugins.woocommerce_bridge import sync
from plugins.woocommerce_bridge.signatures import sign
from portal.accounts.models import Role
from tests.browser.test_withdrawals_browser import sign_in
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer, woo_order

PUBLIC = "https://partners.example.com"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHOTS = (
    "shop-connection.png",
    "shop-test-connection.png",
    "shop-deliveries.png",
    "shop-webhooks.png",
)


@pytest.fixture
def shop(app: Flask) -> Iterator[tuple[FakeShop, str]]:
    fake = FakeShop(orders={727: woo_order(727)}, currency="USD", timezone_string="Asia/Shanghai")
    saved = app.config["PORTAL_BASE_URL"]
    with ShopServer(fake) as server:
        app.config["PORTAL_BASE_URL"] = PUBLIC  # what the shop delivers to is the public address
        try:
            yield fake, server.url
        finally:
            app.config["PORTAL_BASE_URL"] = saved


def _deliver(webhook_url: str, payload: dict, secret: str) -> int:
    """A delivery signed and sent over HTTP exactly as WooCommerce sends it."""
    body = json.dumps(payload).encode()
    answer = httpx.post(
        webhook_url,
        content=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "created",
            "X-WC-Webhook-Signature": sign(secret, body),
            "X-WC-Webhook-Delivery-ID": "3f1c",
        },
    )
    return answer.status_code


def test_merchant_connects_the_shop(
    page: Page, live_server: str, app: Flask, shop, make_user, tmp_path: Path
) -> None:
    fake, shop_url = shop
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    make_user("admin@shop.example", Role.ADMIN)
    page.set_viewport_size({"width": 1100, "height": 800})
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/shop")

    page.get_by_label("Shop address").fill(shop_url)
    page.get_by_label("Consumer key").fill(KEY)
    page.get_by_label("Consumer secret").fill(API_SECRET)
    page.get_by_role("button", name="Connect and set up webhooks").click()
    expect(page.get_by_text("Webhooks: 4 created, 0 replaced, 0 kept.")).to_be_visible()
    expect(page.locator("#webhooks .badge-active")).to_have_count(4)
    expect(page.get_by_label("Delivery URL")).to_have_value(f"{PUBLIC}/woocommerce/webhook")
    expect(page.get_by_label("Consumer secret")).to_have_value("")  # never shown again
    hooks = list(fake.webhooks.values())
    assert {h["delivery_url"] for h in hooks} == {f"{PUBLIC}/woocommerce/webhook"}
    secret = hooks[0]["secret"]
    expect(page.get_by_label("Secret", exact=True)).to_have_value(secret)
    expect(page.locator("#storefront")).to_contain_text("Asia/Shanghai")
    page.screenshot(path=shots / SHOTS[0], full_page=True)

    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#shop-test")
    expect(result).to_contain_text("Connected. The shop reports 1 orders.")
    result.locator("xpath=ancestor::section").screenshot(path=shots / SHOTS[1])

    assert _deliver(f"{live_server}/woocommerce/webhook", woo_order(728), secret) == 200
    page.reload()
    log = page.locator("#deliveries")
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log).to_contain_text("order.created")
    expect(log).to_contain_text("728")
    log.screenshot(path=shots / SHOTS[2])

    fake.fail_deliveries(2, 6)  # the portal was unreachable: WooCommerce disabled one
    with app.app_context():
        sync.reconcile()
    page.reload()
    row = page.locator("#webhook-2")
    expect(row).to_contain_text("disabled")
    page.locator("#webhooks").screenshot(path=shots / SHOTS[3])
    row.get_by_role("button", name="Re-activate").click()
    expect(page.get_by_text("one more failed delivery disables it again")).to_be_visible()
    assert fake.webhooks[2]["status"] == "active"

    for name in SHOTS:
        assert (shots / name).read_bytes().startswith(PNG_MAGIC)


def test_readme_shows_the_screenshots_this_test_takes() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in SHOTS:
        assert f"docs/screenshots/{name}" in readme
        assert (Path(__file__).parents[2] / "docs" / "screenshots" / name).is_file()
