"""The Share page on a phone (390×844) and a desktop, in English and Chinese: every product row and
every search result says what this distributor earns on it, and tapping "Copy" ticks
"copy your link" off the dashboard's checklist (#17 items 1 and 2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from portal.accounts.models import User
from portal.catalogue.models import Product
from portal.commissions.models import CommissionPlan, PlanOverride
from portal.extensions import db
from tests.browser.test_i18n_browser import zh
from tests.browser.test_recruitment_flows import sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def programme(app: Flask) -> Iterator[None]:
    """Affiliates earn 10 % of their sales and 3 % of their direct recruits'; the gift
    box pays a fixed 15.00."""
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = ""
    with app.app_context():
        plan = CommissionPlan(
            role="affiliate", max_depth=2, rate_depth1=D(10), rate_depth2=D(3), rate_depth3=D(0)
        )
        plan.overrides = [
            PlanOverride(scope="product", target_id="102", depth=1, kind="fixed", value=D(15))
        ]
        db.session.add(plan)
        for product_id, name, price in (
            ("101", "Almond cookies", "45.50"),
            ("102", "Gift box", "88.00"),
            ("103", "Jasmine pearls", "12.50"),
        ):
            db.session.add(Product(product_id=product_id, name=name, price=price, category_ids=[]))
        db.session.commit()
    yield
    app.config["PORTAL_BASE_URL"] = saved


@pytest.mark.parametrize(
    ("locale", "screen"),
    [("en", PHONE), ("zh_Hans", PHONE), ("en", DESKTOP), ("zh_Hans", DESKTOP)],
    ids=["en-phone", "zh-phone", "en-desktop", "zh-desktop"],
)
def test_the_share_page_shows_what_i_earn(
    page: Page,
    context: BrowserContext,
    live_server: str,
    app: Flask,
    make_distributor,
    programme,
    locale: str,
    screen: dict[str, int],
) -> None:
    make_distributor("lin@shop.example", name="Lin")
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "lin@shop.example"))
        user.locale = locale
        db.session.commit()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size(screen)
    sign_in(page, live_server, "lin@shop.example")
    page.goto(f"{live_server}/me/links")
    lang = "zh-Hans" if locale == "zh_Hans" else "en"
    expect(page.locator("html")).to_have_attribute("lang", lang)
    if locale == "zh_Hans":
        expect(page.get_by_role("heading", level=1)).to_have_text(zh("Share and earn"))

    cookies = page.locator('[data-earn="101"]')
    expect(cookies).to_be_visible()
    expect(cookies.locator(".earn-own")).to_contain_text("4.55")  # 10 % of 45.50
    expect(cookies.locator(".earn-team")).to_contain_text("1.37")  # 3 %, rounded once
    expect(page.locator('[data-earn="102"] .earn-own')).to_contain_text("15.00")
    if locale == "en":
        expect(cookies.locator(".earn-own")).to_have_text("Earn $4.55")
    if os.environ.get("PORTAL_SCREENSHOTS") and screen is PHONE:  # =docs/screenshots
        folder = Path(os.environ["PORTAL_SCREENSHOTS"])
        page.evaluate("document.getElementById('products-title').scrollIntoView()")
        page.screenshot(path=str(folder / f"share-{locale[:2]}.png"))
    # On a phone the earn line fits the row: nothing runs off the 390 px screen.
    box = cookies.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= screen["width"]

    # The live search keeps the amounts.
    page.locator("#product-search").press_sequentially("jasm", delay=50)
    results = page.locator("#product-results")
    expect(results.locator(".product-link")).to_have_count(1)
    expect(page.locator('[data-earn="103"] .earn-own')).to_contain_text("1.25")

    # Copying the link is a real action the checklist counts.
    page.locator("[data-copy='shop-link']").click()
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server}/me/")
    expect(page.locator('[data-step="copy_link"]')).to_have_class("done")
    expect(page.locator('[data-step="save_poster"]')).not_to_have_class("done")
    expect(page.locator('[data-rate="1"]')).to_contain_text("10")
