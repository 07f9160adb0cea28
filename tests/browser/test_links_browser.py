"""The Links & QR page on a phone: live product search, one-tap copy, QR downloads — and
every QR, inline SVG included, decoded back from what the browser shows or saves."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from portal.catalogue.models import Product
from portal.extensions import db
from tests.browser.test_recruitment_flows import sign_in

PHONE = {"width": 390, "height": 844}


def decode(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


@pytest.fixture
def catalogue(app: Flask) -> Iterator[None]:
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = ""  # short links use the live server's own address
    with app.app_context():
        for product_id, name, price in (
            ("93", "Longjing green tea", "19.90"),
            ("94", "Jasmine pearls", "12.50"),
            ("95", "Tea cup", "8.00"),
        ):
            db.session.add(
                Product(
                    product_id=product_id,
                    name=name,
                    price=price,
                    permalink=f"https://shop.example/p/{product_id}/",
                    category_ids=[],
                )
            )
        db.session.commit()
    yield
    app.config["PORTAL_BASE_URL"] = saved


def test_search_copy_and_download_on_a_phone(
    page: Page, context: BrowserContext, live_server: str, make_distributor, catalogue
) -> None:
    _, code = make_distributor("wu@shop.example", name="Group Leader Wu")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "wu@shop.example")
    page.goto(f"{live_server}/me/links")
    page.evaluate("window.__noReload = true")

    # The inline SVG QR, as the screen shows it, scans to the shop link.
    shop_link = f"{live_server}/r/{code}"
    expect(page.get_by_role("textbox", name="Your shop link")).to_have_value(shop_link)
    svg = page.get_by_role("img", name="QR code for your shop link")
    expect(svg).to_be_visible()
    # caret="initial": Playwright would otherwise inject a style, which the CSP refuses.
    assert decode(svg.screenshot(caret="initial")) == [shop_link]

    # Live search: results change as the distributor types, without a page load.
    results = page.locator("#product-results")
    expect(results).to_contain_text("Longjing green tea")
    page.get_by_label("Search products").press_sequentially("jasm", delay=50)
    expect(results).not_to_contain_text("Longjing green tea")
    expect(results.locator(".product-link")).to_have_count(1)
    expect(results).to_contain_text("Jasmine pearls")
    expect(results).to_contain_text("$12.50")
    assert page.evaluate("window.__noReload") is True
    assert page.url.endswith("/me/links/products?q=jasm")

    # One tap copies the product's short link and says so.
    product_link = f"{live_server}/r/{code}/p/94"
    copy = page.get_by_role("button", name="Copy the link to Jasmine pearls")
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == product_link

    # The QR download is a print-size PNG that scans to the same link.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="QR code for Jasmine pearls (PNG)").click()
    download = download_info.value
    assert download.suggested_filename == f"{code}-94.png"
    with open(download.path(), "rb") as fh:
        data = fh.read()
    assert Image.open(io.BytesIO(data)).width >= 1000
    assert decode(data) == [product_link]
    assert page.evaluate("window.__noReload") is True

    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_search_works_without_javascript_too(
    browser, live_server: str, make_distributor, catalogue
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        make_distributor("wu@shop.example")
        sign_in(page, live_server, "wu@shop.example")
        page.goto(f"{live_server}/me/links")
        page.get_by_label("Search products").fill("cup")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.locator("#product-results")).to_contain_text("Tea cup")
        expect(page.locator("#product-results")).not_to_contain_text("Jasmine")
        assert "/me/links/products?q=cup" in page.url
    finally:
        context.close()
