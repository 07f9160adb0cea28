"""After an htmx swap the person started, focus lands where the result is and the result is
announced: a refused withdrawal focuses the invalid amount (its error tied to it), a
requested one focuses the flashed message in the #flashes live region, and ops deciding a
row in the queue get focus on the new row with its state read out. The swapped states
pass axe too."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from portal.accounts.models import Role
from tests.browser.axe import axe_source, violations
from tests.browser.test_withdrawals_browser import confirm_in_dialog, earn_50, sign_in
from tests.money import add_account, request


def test_withdrawal_form_moves_focus_to_the_error_then_to_the_result(
    page: Page, live_server: str, app: Flask, make_user, make_distributor
) -> None:
    axe_source()
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    add_account(app, seller)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "seller@shop.example")
    page.goto(f"{live_server}/me/withdrawals")
    page.evaluate("window.__noReload = true")

    page.get_by_label("Amount").fill("60")
    page.get_by_role("button", name="Request withdrawal").click()
    amount = page.get_by_label("Amount")
    expect(amount).to_be_focused()
    expect(amount).to_have_attribute("aria-invalid", "true")
    described = (amount.get_attribute("aria-describedby") or "").split()
    assert "amount-error" in described
    expect(page.locator("#amount-error")).to_have_text("You can withdraw at most $50.00.")
    assert violations(page) == []

    amount.fill("20")
    page.get_by_role("button", name="Request withdrawal").click()
    flash = page.locator("#flashes .flash")
    expect(flash).to_be_focused()
    expect(flash).to_contain_text("$20.00")
    expect(page.locator("#flashes")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#withdrawal-history tbody tr")).to_have_count(1)
    assert violations(page) == []
    assert page.evaluate("window.__noReload") is True


def test_deciding_a_row_focuses_it_and_announces_its_state(
    page: Page, live_server: str, app: Flask, make_user, make_distributor
) -> None:
    axe_source()
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    earn_50(app, seller, admin_id)
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/withdrawals")
    page.evaluate("window.__noReload = true")

    row = page.locator(f"#withdrawal-{withdrawal_id}")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert violations(page) == []  # the open confirm dialog too
    confirm_in_dialog(page, "Approve")
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row).to_be_focused()
    status = page.locator("#swap-status")
    expect(status).to_have_text("Approved")
    expect(status).to_have_attribute("aria-live", "polite")

    # Typing in the row's field keeps the focus where it is: only swaps move it.
    row.get_by_label("Payment reference").fill("PP-0001")
    expect(row.get_by_label("Payment reference")).to_be_focused()
    row.get_by_role("button", name="Mark paid").click()
    confirm_in_dialog(page, "Mark paid")
    expect(row.locator(".badge")).to_have_text("Paid")
    expect(row).to_be_focused()
    expect(status).to_have_text("Paid")
    assert violations(page) == []
    assert page.evaluate("window.__noReload") is True
