"""Ops approve a withdrawal in the queue and the row updates in place (no page load)."""

from __future__ import annotations

from decimal import Decimal as D

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role
from portal.extensions import db
from portal.withdrawals.models import Withdrawal, WithdrawalState
from tests.browser.test_withdrawals_browser import confirm_in_dialog, earn_50, sign_in
from tests.money import add_account, request


def test_ops_approve_and_pay_in_place(
    page: Page, live_server: str, app: Flask, make_user, make_distributor
) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/withdrawals")
    page.evaluate("window.__noReload = true")
    row = page.locator(f"#withdrawal-{withdrawal_id}")
    expect(row).to_contain_text("Seller Lin")
    row.get_by_role("button", name="Approve").click()
    confirm_in_dialog(page, "Approve")
    expect(row.locator(".badge")).to_have_text("Approved")
    row.get_by_label("Payment reference").fill("PP-0001")
    row.get_by_role("button", name="Mark paid").click()
    expect(page.get_by_role("dialog")).to_contain_text("PP-0001")
    confirm_in_dialog(page, "Mark paid")
    expect(row.locator(".badge")).to_have_text("Paid")
    expect(row).to_contain_text("PP-0001")
    assert page.evaluate("window.__noReload") is True
    with app.app_context():
        withdrawal = db.session.scalar(select(Withdrawal))
        assert withdrawal.state is WithdrawalState.PAID and withdrawal.amount == D("20.00")
