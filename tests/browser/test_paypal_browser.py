"""Ops send an approved PayPal withdrawal with PayPal from its row: the confirm dialog
names the amount and the PayPal environment, the row shows PayPal's state in place (no
page load), and PayPal's answer — from the loopback PayPal, read by the periodic job —
marks it paid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.accounts.models import Role
from portal.withdrawals import paypal
from tests import paypal_loopback
from tests.browser.test_withdrawals_browser import confirm_in_dialog, earn_50, sign_in
from tests.money import add_account, configure, decide, request


@pytest.fixture
def loopback(app: Flask) -> Iterator[paypal_loopback.PayPal]:
    with paypal_loopback.serve() as server:
        app.config["PAYPAL_API_BASE"] = server.url
        paypal._tokens.clear()
        yield server
        app.config.pop("PAYPAL_API_BASE", None)


def test_send_with_paypal_in_place(
    page: Page, live_server: str, app: Flask, loopback, make_user, make_distributor
) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    configure(
        app,
        admin_id,
        paypal_client_id=paypal_loopback.CLIENT_ID,
        paypal_client_secret=paypal_loopback.SECRET,
    )
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    decide(app, admin_id, withdrawal_id, "approve")
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/withdrawals?state=approved")
    page.evaluate("window.__noReload = true")
    row = page.locator(f"#withdrawal-{withdrawal_id}")
    row.get_by_role("button", name="Send with PayPal").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Send 1 withdrawal with PayPal?")
    expect(dialog).to_contain_text("Sandbox (test money)")
    confirm_in_dialog(page, "Send with PayPal")
    expect(row.locator(".badge-paypal")).to_have_text("PayPal: pending")
    expect(row.get_by_role("button", name="Mark paid")).to_have_count(0)
    assert page.evaluate("window.__noReload") is True
    assert len(loopback.batches) == 1
    loopback.settle()
    with app.app_context():
        paypal.poll()
    page.goto(f"{live_server}/admin/withdrawals?state=paid")
    expect(row.locator(".badge-withdrawal-paid")).to_have_text("Paid")
    expect(row.locator(".badge-paypal")).to_have_text("PayPal: paid")
