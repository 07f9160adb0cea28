"""Posters on a phone (390×844), in English and Chinese: from the Share page to the poster
shown as a picture with the long-press hint (no download button in WeChat's in-app
browser), its QR code decoded from the picture the browser loaded, "Share…" copying the
text where the browser cannot share files; and ops' live preview re-rendering as a field
changes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from babel.messages.pofile import read_po
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, expect

from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.extensions import db
from tests.browser.test_recruitment_flows import sign_in
from tests.images import png_bytes

PHONE = {"width": 390, "height": 844}
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) NetType/WIFI Language/zh_CN"
)
PO = Path(__file__).resolve().parents[2] / "portal/translations/zh_Hans/LC_MESSAGES/messages.po"


def zh(message: str) -> str:
    """The Chinese of a message, or the message while it waits for its translation."""
    with PO.open("rb") as fh:
        entry = read_po(fh).get(message)
    return entry.string if entry is not None and entry.string else message


def decode(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


@pytest.fixture
def tea(app: Flask, tmp_path: Path) -> Iterator[None]:
    saved = app.config["PORTAL_BASE_URL"], app.config["PORTAL_UPLOAD_PATH"]
    app.config.update(PORTAL_BASE_URL="", PORTAL_UPLOAD_PATH=str(tmp_path))
    with app.app_context():
        db.session.add(
            Product(product_id="93", name="Longjing green tea", price="19.90", category_ids=[])
        )
        db.session.commit()
    yield
    app.config["PORTAL_BASE_URL"], app.config["PORTAL_UPLOAD_PATH"] = saved


@pytest.mark.parametrize(
    ("locale", "agent"), [("en", None), ("zh_Hans", WECHAT)], ids=["en-phone", "zh-wechat"]
)
def test_poster_shown_to_long_press_on_a_phone(
    browser: Browser,
    live_server: str,
    app: Flask,
    make_distributor,
    tea,
    locale: str,
    agent: str | None,
) -> None:
    _, code = make_distributor("wu@shop.example", name="Group Leader Wu")
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "wu@shop.example"))
        user.locale = locale
        db.session.commit()
    say = zh if locale == "zh_Hans" else (lambda message: message)
    options = {"user_agent": agent} if agent else {}
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    try:
        sign_in(page, live_server, "wu@shop.example")
        page.goto(f"{live_server}/me/links")
        expect(page.locator("html")).to_have_attribute(
            "lang", "zh-Hans" if locale == "zh_Hans" else "en"
        )
        label = say("Poster for %(name)s") % {"name": "Longjing green tea"}
        page.get_by_role("link", name=label).click()

        poster = page.locator("img.poster-image")
        expect(poster).to_be_visible()
        page.wait_for_function("document.querySelector('img.poster-image').naturalWidth > 0")
        assert poster.evaluate("img => img.naturalWidth") == 1080
        box = poster.bounding_box()
        assert box is not None and box["width"] <= PHONE["width"]  # fits the phone
        expect(page.locator("#poster-hint")).to_contain_text(
            say("Long-press the picture to save it")
        )
        # The picture the page shows is the distributor's own poster.
        src = poster.get_attribute("src")
        assert decode(page.request.get(live_server + src).body()) == [
            f"{live_server}/r/{code}/p/93"
        ]
        download = page.locator("a[download]")
        if agent == WECHAT:
            expect(download).to_have_count(0)  # WeChat cannot download: long-press only
        else:
            expect(download).to_have_text(say("Download poster (PNG)"))

        if os.environ.get("PORTAL_SCREENSHOTS"):  # =docs/screenshots: the README's pictures
            page.screenshot(
                path=str(Path(os.environ["PORTAL_SCREENSHOTS"]) / f"poster-{locale[:2]}.png"),
                full_page=True,
            )

        # Headless Chromium has no Web Share API: "Share…" copies the text instead.
        page.get_by_role("button", name=say("Share…")).click()
        copied = say("Text copied: paste it with the picture.")
        expect(page.locator("#copy-status")).to_have_text(copied)
        assert page.evaluate("navigator.clipboard.readText()").endswith(f"/r/{code}/p/93")
    finally:
        context.close()


def test_ops_preview_follows_the_fields(
    browser: Browser, live_server: str, app: Flask, make_user, tea, tmp_path: Path
) -> None:
    make_user("ops@shop.example", Role.OPS)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, "ops@shop.example")
        page.goto(f"{live_server}/admin/posters/new?kind=product")
        preview = page.locator("#poster-preview img")
        expect(preview).to_be_visible()  # drawn as the page loads, on a white canvas
        first = preview.get_attribute("src")
        assert first and first.startswith("data:image/png;base64,")

        background = tmp_path / "background.png"
        background.write_bytes(png_bytes((1080, 1920), (250, 235, 215)))
        page.get_by_label("Background picture").set_input_files(str(background))
        expect(preview).not_to_have_attribute("src", first)
        taller = preview.get_attribute("src")
        assert page.evaluate("img => img.naturalHeight", preview.element_handle()) == 960

        page.locator("#qr-y").fill("1500")
        expect(preview).not_to_have_attribute("src", taller)
        page.locator("#qr-x").fill("900")
        expect(page.locator("#poster-preview [role=alert]")).to_contain_text("Goes off")

        page.locator("#qr-x").fill("60")
        page.get_by_label("Name", exact=True).fill("Autumn tea")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Autumn tea")
    finally:
        context.close()
