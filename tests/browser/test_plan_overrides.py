"""Inline HTMX editing of commission overrides in a real browser."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.accounts.models import Role
from portal.commissions.models import PlanOverride
from portal.extensions import db
from tests.browser.test_recruitment_flows import sign_in


def test_add_then_edit_an_override_inline(
    page: Page, live_server: str, app: Flask, make_user
) -> None:
    make_user("admin@shop.example", Role.ADMIN)
    sign_in(page, live_server, "admin@shop.example")
    page.goto(f"{live_server}/admin/plans")
    page.evaluate("window.__noReload = true")
    section = page.locator("#overrides-agent")
    section.get_by_label("Product or category ID").fill("SKU-9")
    section.get_by_label("Kind").select_option("fixed")
    section.get_by_label("Value").fill("2.5")
    section.get_by_role("button", name="Add override").click()
    row = page.locator("#overrides-agent tbody tr").filter(has_text="SKU-9")
    expect(row).to_contain_text("per unit")

    # a bad value is refused in place, with the error next to the field
    section = page.locator("#overrides-agent")
    section.get_by_label("Product or category ID").fill("SKU-10")
    section.get_by_label("Value").fill("-1")
    section.get_by_role("button", name="Add override").click()
    expect(
        page.locator("#overrides-agent").get_by_text("Use an amount from 0 to 1,000,000.")
    ).to_be_visible()

    row = page.locator("#overrides-agent tbody tr").filter(has_text="SKU-9")
    row.get_by_role("link", name="Edit").click()
    editing = page.locator("#overrides-agent tr.editing")
    expect(editing.get_by_label("Applies to")).to_be_focused()  # the row's first field
    editing.get_by_label("Depth").select_option("2")
    editing.get_by_label("Value").fill("3.75")
    editing.get_by_role("button", name="Save").click()
    expect(page.locator("#overrides-agent tr.editing")).to_have_count(0)
    saved = page.locator("#overrides-agent tbody tr").filter(has_text="SKU-9")
    expect(saved).to_contain_text("3.75")
    expect(saved).to_be_focused()  # focus follows the saved row, not lost to <body>
    assert page.evaluate("window.__noReload") is True
    with app.app_context():
        override = db.session.scalars(select(PlanOverride)).one()
        assert (override.depth, override.kind, override.value) == (2, "fixed", Decimal("3.75"))
