"""The material library on a phone: filter without a page load, copy a chat script in one
tap (read back from the clipboard, filled with the distributor's own link), counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from portal.catalogue.models import Product
from portal.extensions import db
from portal.materials.models import Material, MaterialKind
from portal.timeutil import utcnow
from tests.browser.test_recruitment_flows import sign_in

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def library(app: Flask) -> Iterator[int]:
    """A chat script about product 93 and a caption; returns the script's id."""
    saved = app.config["PORTAL_BASE_URL"]
    app.config["PORTAL_BASE_URL"] = ""  # links use the live server's own address
    with app.app_context():
        tea = Product(product_id="93", name="Longjing green tea", category_ids=[])
        script = Material(
            kind=MaterialKind.SCRIPT,
            title="Tea opener",
            body="Hi all, {name} here! Spring tea: {product_link:93}",
            category="Tea",
            products=[tea],
            publish_from=utcnow() - timedelta(hours=1),
        )
        caption = Material(
            kind=MaterialKind.COPY,
            title="Coffee caption",
            body="Coffee time: {link}",
            category="Coffee",
            publish_from=utcnow() - timedelta(hours=2),
        )
        db.session.add_all([tea, script, caption])
        db.session.commit()
        script_id = script.id
    yield script_id
    app.config["PORTAL_BASE_URL"] = saved


def test_filter_and_copy_a_script_on_a_phone(
    app: Flask,
    page: Page,
    context: BrowserContext,
    live_server: str,
    make_distributor,
    library: int,
) -> None:
    _, code = make_distributor("wu@shop.example", name="Wu Lan")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "wu@shop.example")
    page.goto(f"{live_server}/me/materials")
    page.evaluate("window.__noReload = true")

    results = page.locator("#material-results")
    expect(results).to_contain_text("Coffee caption")
    expect(results).to_contain_text("Tea opener")

    page.get_by_label("Kind").select_option("script")
    expect(results).not_to_contain_text("Coffee caption")
    expect(results).to_contain_text("Tea opener")
    assert "kind=script" in page.url

    page.get_by_label("Kind").select_option("")
    page.get_by_label("Search").press_sequentially("coffee", delay=50)
    expect(results).not_to_contain_text("Tea opener")
    page.get_by_label("Search").fill("")
    page.get_by_label("Category").select_option("Tea")
    expect(results).not_to_contain_text("Coffee caption")
    assert page.evaluate("window.__noReload") is True

    copy = page.get_by_role("button", name="Copy the text of Tea opener")
    copy.click()
    expect(copy).to_have_text("Copied")
    expected = f"Hi all, Wu Lan here! Spring tea: {live_server}/r/{code}/p/93"
    assert page.evaluate("navigator.clipboard.readText()") == expected

    deadline = time.monotonic() + 10
    while True:  # the count is a small POST sent alongside the copy
        with app.app_context():
            if db.session.get(Material, library).copy_count == 1:
                break
        assert time.monotonic() < deadline, "the copy was not counted"
        time.sleep(0.1)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
