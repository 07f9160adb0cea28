"""Withdrawing on a phone: add a payout account, request with the fee shown as you type,
and watch the row change state — all without a page load."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.commissions import services as commissions
from portal.commissions.models import CommissionPlan
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.settings import services as settings
from portal.withdrawals import services
from portal.withdrawals.models import Withdrawal
from tests.helpers import PASSWORD

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def confirm_in_dialog(page: Page, button: str) -> None:
    """Answer the confirm step's modal dialog (focus starts on Cancel) with ``button``."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name=button, exact=True).click()
    expect(page.locator("dialog")).to_have_count(0)


def earn_50(app: Flask, distributor_id: int, ops_id: int) -> None:
    """A 10 % plan, a completed 500.00 order past its return window: 50.00 available; and a
    1.5 % withdrawal fee."""
    with app.app_context():
        db.session.add(CommissionPlan(role="affiliate", max_depth=1, rate_depth1=D("10")))
        settings.update({"withdrawal_fee_percent": D("1.5")}, db.session.get(User, ops_id))
        db.session.commit()
        stored = orders.store_order(
            OrderData(
                shop_order_id="5001",
                status="completed",
                currency="USD",
                created_at=T0,
                modified_at=T0,
                completed_at=T0,
                lines=(LineData("1", "P1", 1, D("500.00")),),
                attribution=Attribution(distributor_id, "coupon", {"coupon": "X"}),
            )
        )
        commissions.apply_order(stored.order_id, T0 + timedelta(days=30))


def test_withdraw_on_a_phone_without_reloads(
    page: Page, live_server: str, app: Flask, make_user, make_distributor
) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "seller@shop.example")

    page.goto(f"{live_server}/me/withdrawals")
    expect(page.get_by_text("Add a payout account first")).to_be_visible()
    page.get_by_role("link", name="Manage payout accounts").click()
    page.evaluate("window.__noReload = true")
    page.get_by_label("Method").select_option("paypal")
    expect(page.get_by_label("PayPal email")).to_be_visible()  # the form follows the method
    expect(page.get_by_label("Bank name")).to_have_count(0)
    page.get_by_label("Account holder's name").fill("Lin Mei")
    page.get_by_label("PayPal email").fill("lin.mei@example.com")
    page.get_by_role("button", name="Add account").click()
    expect(page.locator("#payout-accounts")).to_contain_text("PayPal · l•••@example.com")
    expect(page.locator("#flashes")).to_contain_text("added")
    assert page.evaluate("window.__noReload") is True

    page.goto(f"{live_server}/me/withdrawals")
    page.evaluate("window.__noReload = true")
    expect(page.locator("#withdrawal-balance")).to_contain_text("$50.00")
    amount = page.get_by_label("Amount")
    quote = page.locator("#withdrawal-fee .quote-result")
    limits = page.locator("#withdrawal-fee .quote-limits")
    expect(limits).to_have_text("Available $50.00 · minimum $10.00 · up to $50.00 now")
    amount.press_sequentially("20")
    expect(quote).to_have_text("Fee $0.30 · you receive $19.70")
    amount.fill("20.001")
    expect(quote).to_contain_text("Use at most 2 decimals for USD.")
    amount.fill("999999")
    expect(quote).to_have_text("You can withdraw at most $50.00.")
    amount.fill("5")
    expect(quote).to_have_text("The minimum withdrawal is $10.00.")
    page.get_by_role("link", name="Withdraw all ($50.00)").click()
    expect(amount).to_have_value("50.00")
    expect(amount).to_be_focused()
    expect(quote).to_have_text("Fee $0.75 · you receive $49.25")
    amount.fill("60")
    page.get_by_role("button", name="Request withdrawal").click()
    expect(page.locator("#amount-error")).to_have_text("You can withdraw at most $50.00.")
    page.get_by_label("Amount").fill("20")
    page.get_by_role("button", name="Request withdrawal").click()
    rows = page.locator("#withdrawal-history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("Requested")
    expect(page.locator("#withdrawal-balance")).to_contain_text("$30.00")
    expect(page.get_by_label("Amount")).to_have_value("")  # a fresh form
    assert page.evaluate("window.__noReload") is True

    with app.app_context():
        withdrawal_id = db.session.scalar(select(Withdrawal.id))
        ops = db.session.get(User, admin_id)
        services.approve(withdrawal_id, ops)
        services.pay(withdrawal_id, ops, "PP-2026-0042")
    row = page.locator(f"#withdrawal-{withdrawal_id}")
    expect(row.locator(".badge")).to_have_text("Paid", timeout=15_000)  # polled every 5 s
    expect(row).to_contain_text("PP-2026-0042")
    expect(page.locator("#flashes")).to_have_text(re.compile("is now: Paid"))
    assert page.evaluate("window.__noReload") is True
    assert row.get_attribute("hx-trigger") is None  # paid rows stop polling
