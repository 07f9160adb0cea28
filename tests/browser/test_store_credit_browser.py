"""Store credit on a phone: choose it on the request form with the coupon quoted as you
type, see it waiting, then — once ops approve and the coupon is in the (loopback) shop —
its code and what is left, without a page load until the end."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.settings import services as settings
from portal.withdrawals import services
from portal.withdrawals.credit_models import StoreCredit
from tests.browser.test_withdrawals_browser import earn_50, sign_in
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer


@pytest.fixture
def woo(app: Flask) -> Iterator[FakeShop]:
    fake = FakeShop()
    with ShopServer(fake) as server:
        app.config.update(
            WOO_STORE_URL=server.url, WOO_CONSUMER_KEY=KEY, WOO_CONSUMER_SECRET=API_SECRET
        )
        yield fake
    app.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")


def test_take_store_credit_on_a_phone(
    page: Page, live_server: str, app: Flask, woo: FakeShop, make_user, make_distributor
) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    with app.app_context():
        settings.update(
            {"store_credit_enabled": True, "store_credit_bonus_percent": D("10")},
            db.session.get(User, admin_id),
        )
        db.session.commit()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "seller@shop.example")

    page.goto(f"{live_server}/me/withdrawals")
    page.evaluate("window.__noReload = true")
    expect(page.get_by_text("Cash needs a payout account; store credit does not.")).to_be_visible()
    page.get_by_label("Take it as").select_option("credit")
    page.get_by_label("Amount").press_sequentially("20")
    quote = page.locator("#withdrawal-fee .quote-result")
    expect(quote).to_have_text("Store credit: a coupon of $22.00 (bonus $2.00), no fee")
    page.get_by_role("button", name="Request withdrawal").click()
    expect(page.locator("#flashes")).to_contain_text("Withdrawal of $20.00 requested.")
    credit_card = page.locator("#store-credit")
    expect(credit_card).to_contain_text("On its way to the shop")
    expect(credit_card).to_contain_text("$22.00")
    expect(page.locator("#withdrawal-history tbody tr")).to_have_count(1)
    assert page.evaluate("window.__noReload") is True

    with app.app_context():
        withdrawal_id = db.session.scalar(select(StoreCredit.withdrawal_id))
        services.approve(withdrawal_id, db.session.get(User, admin_id))  # issues the coupon
        code = db.session.scalar(select(StoreCredit.code))
    assert code in woo.coupons
    row = page.locator(f"#withdrawal-{withdrawal_id}")
    expect(row.locator(".badge")).to_have_text("Paid", timeout=15_000)  # polled every 5 s
    expect(row).to_contain_text(code)
    page.reload()
    expect(credit_card).to_contain_text("Ready to use in the shop")
    expect(credit_card.locator("code")).to_have_text(code)
    box = credit_card.bounding_box()
    assert box is not None and box["width"] <= 390  # no sideways scrolling on the phone
