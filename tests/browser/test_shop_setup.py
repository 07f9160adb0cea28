"""The WooCommerce set-up as a merchant does it, in Chromium: the Shop connection page
gives the webhook URL and secret, *Test connection* reaches the shop's REST API, and a
signed delivery shows up in the delivery log.

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

from plugins.woocommerce_bridge.signatures import sign
from portal.accounts.models import Role
from tests.browser.test_withdrawals_browser import sign_in
from tests.woo import API_SECRET, KEY, SECRET, FakeShop, ShopServer, woo_order

PUBLIC = "https://partners.example.com"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHOTS = ("shop-connection.png", "shop-test-connection.png", "shop-deliveries.png")


@pytest.fixture
def connected(app: Flask) -> Iterator[FakeShop]:
    shop = FakeShop(orders={727: woo_order(727)})
    keys = (
        "WOO_STORE_URL",
        "WOO_CONSUMER_KEY",
        "WOO_CONSUMER_SECRET",
        "WOO_WEBHOOK_SECRET",
        "PORTAL_BASE_URL",
    )
    saved = {k: app.config[k] for k in keys}
    with ShopServer(shop) as server:
        app.config.update(
            WOO_STORE_URL=server.url,
            WOO_CONSUMER_KEY=KEY,
            WOO_CONSUMER_SECRET=API_SECRET,
            WOO_WEBHOOK_SECRET=SECRET,
            PORTAL_BASE_URL=PUBLIC,  # what people paste is the public address
        )
        try:
            yield shop
        finally:
            app.config.update(saved)


def _deliver(webhook_url: str, payload: dict) -> int:
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
            "X-WC-Webhook-Signature": sign(SECRET, body),
            "X-WC-Webhook-Delivery-ID": "3f1c",
        },
    )
    return answer.status_code


def test_merchant_connects_the_shop(
    page: Page, live_server: str, connected: FakeShop, make_user, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    make_user("admin@shop.example", Role.ADMIN)
    page.set_viewport_size({"width": 1100, "height": 800})
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/shop")

    expect(page.get_by_label("Delivery URL")).to_have_value(f"{PUBLIC}/woocommerce/webhook")
    expect(page.get_by_label("Secret")).to_have_value(SECRET)
    page.screenshot(path=shots / SHOTS[0], full_page=True)

    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#shop-test")
    expect(result).to_contain_text("Connected. The shop reports 1 orders.")
    assert any(r.startswith("GET /wp-json/wc/v3/orders") for r in connected.requests)
    result.locator("xpath=ancestor::section").screenshot(path=shots / SHOTS[1])

    assert _deliver(f"{live_server}/woocommerce/webhook", woo_order(728)) == 200
    page.reload()
    log = page.locator("#deliveries")
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log).to_contain_text("order.created")
    expect(log).to_contain_text("728")
    log.screenshot(path=shots / SHOTS[2])

    for name in SHOTS:
        assert (shots / name).read_bytes().startswith(PNG_MAGIC)


def test_readme_shows_the_screenshots_this_test_takes() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in SHOTS:
        assert f"docs/screenshots/{name}" in readme
        assert (Path(__file__).parents[2] / "docs" / "screenshots" / name).is_file()
