"""The distributor's phone home and the ops campaign form, in a real browser.

Phone 390×844 and a desktop, English and Chinese: the tab bar (five tabs, the current one
marked) replaces the header's links on a phone; chart labels keep a readable size and a tap
shows a bar's value; creating a campaign lands on the campaign, which a distributor then
sees; a form coming back with errors breaks no Content-Security-Policy rule (the autouse
fixture in conftest.py fails any test that logs a CSP violation).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from flask_babel import force_locale
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.campaigns.models import Campaign
from portal.centre import tabs
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.timeutil import utcnow
from tests.helpers import PASSWORD

FONT_SIZE = "e => parseFloat(getComputedStyle(e).fontSize)"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LOCALES = {"en": "en-GB", "zh": "zh-CN"}
CATALOGUES = {"en": "en", "zh": "zh_Hans"}


def tab_names(app: Flask, lang: str) -> list[str]:
    """The tab labels as the catalogue of ``lang`` words them (the lead translates)."""
    with app.test_request_context(), force_locale(CATALOGUES[lang]):
        return [str(link.label) for link in tabs.TABS]


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def sell(app: Flask, distributor_id: int, n: int, total: str) -> None:
    at = utcnow() - timedelta(days=n)
    with app.app_context():
        orders.store_order(
            OrderData(
                shop_order_id=str(9100 + n),
                status="processing",
                currency="USD",
                created_at=at,
                modified_at=at,
                lines=(LineData("1", "P1", 1, D(total)),),
                customer_email=f"buyer{n}@example.com",
                attribution=Attribution(distributor_id, "coupon", {"coupon": "X"}),
            )
        )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_tab_bar_on_a_phone_and_the_nav_on_a_desktop(
    browser: Browser, live_server: str, app: Flask, make_distributor, lang: str
) -> None:
    make_distributor("tabs@shop.example", name="Tab Lin")
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, "tabs@shop.example")
        bar = page.locator("nav.tab-bar")
        expect(bar).to_be_visible()
        expect(page.locator("nav.desktop-nav")).to_be_hidden()  # no 11-link header
        links = bar.get_by_role("link")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans" if lang == "zh" else "en")
        expect(links).to_have_text(tab_names(app, lang))
        header = page.locator("header.site-header").bounding_box()
        assert header is not None and header["height"] < 90
        box = bar.bounding_box()
        assert box is not None and abs(box["y"] + box["height"] - PHONE["height"]) < 1
        for tab in links.all():
            tab_box = tab.bounding_box()
            assert tab_box is not None and tab_box["height"] >= 44 and tab_box["width"] >= 44

        expect(bar.locator("[aria-current=page]")).to_have_attribute("data-tab", "home")
        for key, path in [("share", "/me/links"), ("team", "/me/team"), ("earnings", "/me/orders")]:
            with page.expect_navigation():
                bar.locator(f"[data-tab={key}]").click()
            assert page.url.endswith(path)
            expect(bar.locator("[aria-current=page]")).to_have_attribute("data-tab", key)
            expect(bar.locator("[aria-current=page]")).to_have_count(1)
        page.goto(f"{live_server}/me/materials")  # a Share page reached from elsewhere
        expect(bar.locator("[aria-current=page]")).to_have_attribute("data-tab", "share")

        with page.expect_navigation():
            bar.locator("[data-tab=me]").click()
        expect(bar.locator("[aria-current=page]")).to_have_attribute("data-tab", "me")
        for endpoint in ("/me/notifications", "/me/campaigns", "/account/password"):
            expect(page.locator(f"main a[href='{endpoint}']")).to_be_visible()
        # The last of the page stays above the fixed tab bar.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        signout = page.locator("main form[action$='/logout'] button")
        signout_box = signout.bounding_box()
        bar_box = bar.bounding_box()
        assert signout_box and bar_box and signout_box["y"] + signout_box["height"] <= bar_box["y"]

        page.set_viewport_size(DESKTOP)
        expect(bar).to_be_hidden()
        nav = page.locator("nav.desktop-nav")
        expect(nav).to_be_visible()
        page.goto(f"{live_server}/me/team")
        expect(nav.locator("[aria-current=page]")).to_have_attribute("href", "/me/team")
        with page.expect_navigation():
            nav.get_by_role("button").click()  # signing out from the desktop header
        expect(page.locator("nav.desktop-nav")).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chart_labels_are_readable_on_a_phone_and_a_tap_shows_a_value(
    browser: Browser, live_server: str, app: Flask, make_distributor, lang: str
) -> None:
    seller, _ = make_distributor("chart@shop.example", name="Chart Wu")
    sell(app, seller, 2, "120.00")
    context = browser.new_context(locale=LOCALES[lang], viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server, "chart@shop.example")
        chart = page.locator("#sales-chart")
        expect(chart).to_be_visible()
        for label in (".chart-peak", ".chart-axis span", ".chart-readout"):
            size = chart.locator(label).first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)"
            )
            assert size >= 12, (label, size)
        assert "$120.00" in chart.locator(".chart-peak").inner_text()

        readout = chart.locator(".chart-readout")
        before = readout.inner_text()
        bars = chart.locator("rect.bar")
        tallest = max(range(bars.count()), key=lambda i: float(bars.nth(i).get_attribute("height")))
        chart.locator("svg").scroll_into_view_if_needed()
        target = bars.nth(tallest).bounding_box()
        assert target is not None
        page.mouse.click(target["x"] + target["width"] / 2, target["y"] + target["height"] - 2)
        expect(readout).not_to_have_text(before)
        expect(readout).to_contain_text("$120.00")
        expect(bars.nth(tallest)).to_have_class("bar picked")

        chart.locator("details summary").click()  # every day's figure, also without a pointer
        expect(chart.locator(".chart-table")).to_contain_text("$120.00")
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "viewport"), [("en", DESKTOP), ("zh", PHONE)])
def test_ops_create_a_campaign_once_and_a_distributor_sees_it(
    browser: Browser, live_server: str, app: Flask, make_user, make_distributor, lang, viewport
) -> None:
    make_user("ops@shop.example", Role.OPS)
    make_distributor("camp@shop.example", name="Camp Zhao")
    context = browser.new_context(locale=LOCALES[lang], viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, live_server, "ops@shop.example")
        page.goto(f"{live_server}/admin/campaigns/new")
        form = page.locator("#campaign-form")
        # An error first: the form comes back filled in, with the message.
        form.locator("input[name=name]").fill("Spring sprint")
        form.locator("button[type=submit]").click()
        expect(form.locator(".error").first).to_be_visible()
        expect(form.locator("input[name=name]")).to_have_value("Spring sprint")

        today = utcnow().date()
        form.locator("input[name=starts_on]").fill(today.isoformat())
        form.locator("input[name=ends_on]").fill((today + timedelta(days=7)).isoformat())
        form.locator("textarea[name=tiers]").fill("1 = 50")
        checkbox = form.locator("input[type=checkbox]").first
        label = form.locator(f"label[for='{checkbox.get_attribute('id')}']")
        check_box, label_box = checkbox.bounding_box(), label.bounding_box()
        assert check_box and label_box
        assert (
            abs(
                check_box["y"]
                + check_box["height"] / 2
                - (label_box["y"] + label_box["height"] / 2)
            )
            < 8
        )
        assert check_box["x"] < label_box["x"]  # beside its label, not above it
        for selector in ("input[name=starts_on]", "input[name=ends_on]"):
            assert form.locator(selector).evaluate("e => getComputedStyle(e).minHeight") == "44px"

        with page.expect_navigation():
            form.locator("button[type=submit]").dblclick()  # an impatient double tap
        expect(page.locator("#flashes")).to_contain_text("Spring sprint")
        expect(page.locator("h1")).to_contain_text("Spring sprint")
        assert "/admin/campaigns/" in page.url and not page.url.endswith("/new")
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1

        page.context.clear_cookies()
        sign_in(page, live_server, "camp@shop.example")
        page.goto(f"{live_server}/me/campaigns")
        card = page.locator("article.campaign-card")
        expect(card.get_by_role("heading", name="Spring sprint")).to_be_visible()
        with page.expect_navigation():
            card.locator("a[href*='leaderboard']").click()  # the campaign's own board
        expect(page.locator("#campaign-board h2")).to_contain_text("Spring sprint")
        expect(page.locator("#campaign-board .empty")).to_be_visible()  # says what to do
    finally:
        context.close()


def test_a_resized_textarea_survives_a_form_error_under_the_csp(
    page: Page, live_server: str, make_user
) -> None:
    """htmx used to copy the old ``style`` attribute back with setAttribute on settle: the
    CSP refused it and the console showed an error after every failed submit."""
    make_user("ops2@shop.example", Role.OPS)
    sign_in(page, live_server, "ops2@shop.example")
    page.goto(f"{live_server}/admin/plans/preview")
    page.locator("#preview textarea").evaluate("t => { t.style.height = '12rem'; }")
    page.locator("#preview form button[type=submit]").click()
    expect(page.locator("#preview .error").first).to_be_visible()


def test_every_page_has_a_favicon(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and page.request.get(live_server + icon).ok
    response = page.request.get(f"{live_server}/favicon.ico")
    assert response.ok and response.headers["content-type"].startswith("image/")
