"""HTMX flows in a real browser: the approval queue swaps rows in place."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from tests.helpers import PASSWORD


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def status_of(app: Flask, distributor_id: int) -> DistributorStatus:
    with app.app_context():
        return db.session.get(Distributor, distributor_id).status


def test_approve_and_reject_swap_rows_in_place(
    page: Page, live_server: str, app: Flask, make_user, make_distributor
) -> None:
    make_user("ops@shop.example", Role.OPS)
    first, _ = make_distributor(
        "one@shop.example", DistributorStatus.APPLIED, name="First Applicant"
    )
    second, _ = make_distributor(
        "two@shop.example", DistributorStatus.APPLIED, name="Second Applicant"
    )
    sign_in(page, live_server, "ops@shop.example")
    page.goto(f"{live_server}/admin/distributors/applications")
    page.evaluate("window.__noReload = true")

    row = page.locator(f"#application-{first}")
    row.get_by_role("button", name="Approve").click()
    expect(row.locator(".badge")).to_have_text("Active")
    assert status_of(app, first) is DistributorStatus.ACTIVE

    # Rejecting asks first, in a modal dialog: Escape (or Cancel) changes nothing and
    # gives the focus back to the button that asked.
    row = page.locator(f"#application-{second}")
    row.get_by_label("Reason (shown to the applicant)").fill("Outside our delivery area")
    reject = row.get_by_role("button", name="Reject")
    reject.click()
    dialog = page.get_by_role("dialog", name="Reject the application of Second Applicant?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Outside our delivery area")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(reject).to_be_focused()
    assert status_of(app, second) is DistributorStatus.APPLIED

    reject.click()
    dialog.get_by_role("button", name="Reject the application").click()
    expect(row.locator(".badge")).to_have_text("Rejected")
    expect(page.locator("dialog")).to_have_count(0)
    assert status_of(app, second) is DistributorStatus.REJECTED
    assert page.evaluate("window.__noReload") is True  # all were swaps, not page loads


def test_apply_on_a_phone_through_an_invite(
    page: Page, live_server: str, app: Flask, make_distributor
) -> None:
    parent_id, code = make_distributor("leader@shop.example", name="Group Leader Wu")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/join/{code}")
    expect(page.get_by_text("Group Leader Wu invited you")).to_be_visible()
    page.get_by_label("Name shown to your team").fill("Neighbour Chen")
    page.get_by_label("Email").fill("chen@shop.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill("mismatch-123")
    page.get_by_role("button", name="Apply now").click()
    expect(page.locator("#confirm-error")).to_have_text("Passwords do not match.")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Apply now").click()
    expect(page.get_by_text("waiting for review").first).to_be_visible()
    with app.app_context():
        recruit = db.session.scalar(
            select(Distributor).where(Distributor.display_name == "Neighbour Chen")
        )
        assert recruit.parent_id == parent_id


def test_status_filter_swaps_the_table_and_keeps_the_url(
    page: Page, live_server: str, make_user, make_distributor
) -> None:
    make_user("admin@shop.example", Role.ADMIN)
    make_distributor("active@shop.example", name="Active Alice")
    make_distributor("applied@shop.example", DistributorStatus.APPLIED, name="Pending Paul")
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/distributors")
    expect(page.get_by_text("Active Alice")).to_be_visible()
    page.get_by_label("Status").select_option("applied")
    expect(page.get_by_text("Active Alice")).to_have_count(0)
    expect(page.get_by_text("Pending Paul")).to_be_visible()
    assert "status=applied" in page.url
    page.reload()  # the pushed URL is a real page with the same filter
    expect(page.get_by_text("Pending Paul")).to_be_visible()
    expect(page.get_by_text("Active Alice")).to_have_count(0)
