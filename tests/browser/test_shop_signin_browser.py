"""Sign in with the shop account in Chromium: a PHP built-in server stands in for the
shop's My Account → Distributor centre, signing with the companion plugin's own signer
(tests/php/shop.php) and redirecting to the portal. The first visit lands on the join
page with the shop's name and email; joining signs in; after signing out, the shop's link
signs straight in again, and its address does not work twice."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.distributors.models import Distributor
from portal.extensions import db
from tests.helpers import free_port, unavailable

SECRET = "browser-test-signin-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def php_shop(app: Flask, live_server: str) -> Iterator[str]:
    php = shutil.which("php")
    if php is None:
        unavailable("php-cli is not installed (Debian package: php-cli)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORTAL_URL": live_server, "PORTAL_SIGNIN_SECRET": SECRET, "SHOP_URL": url}
    server = subprocess.Popen(
        [php, "-S", f"127.0.0.1:{port}", "-t", str(ROOT / "tests" / "php")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "php -S did not start"
            time.sleep(0.2)
    app.config.update(WOO_STORE_URL=url, WOO_SIGNIN_SECRET=SECRET)
    try:
        yield url
    finally:
        app.config.update(WOO_STORE_URL="", WOO_SIGNIN_SECRET="")
        server.terminate()
        server.wait(timeout=10)


def test_the_shop_link_joins_then_signs_in(
    page: Page, live_server: str, php_shop: str, app: Flask
) -> None:
    customer = {
        "id": "77",
        "email": "wang.fang@example.com",
        "name": "Wang Fang",
        "locale": "zh_CN",
    }
    centre = f"{php_shop}/shop.php?{urlencode(customer)}"
    page.goto(centre)
    expect(page).to_have_url(f"{live_server}/join/shop")
    expect(page.locator("#shop-email")).to_have_text("wang.fang@example.com")
    expect(page.get_by_label("Name shown to your team")).to_have_value("Wang Fang")
    page.get_by_role("button", name="Join now").click()
    expect(page).to_have_url(f"{live_server}/me/")
    with app.app_context():
        joined = db.session.scalar(select(Distributor).where(Distributor.shop_customer_id == "77"))
        assert joined is not None and joined.user.email == "wang.fang@example.com"
    # The profile speaks the shop's language (zh_CN → 简体中文).
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    # Without the portal's cookies the shop's link signs straight in; the address it
    # redirected to cannot be used a second time.
    page.context.clear_cookies()
    used: list[str] = []
    page.on("request", lambda r: used.append(r.url) if "/woocommerce/signin" in r.url else None)
    page.goto(centre)
    expect(page).to_have_url(f"{live_server}/me/")
    page.context.clear_cookies()
    page.goto(used[0])
    expect(page.locator("#shop-refusal")).to_be_visible()
    page.goto(f"{live_server}/me/")
    expect(page).to_have_url(f"{live_server}/login?next=%2Fme%2F")
