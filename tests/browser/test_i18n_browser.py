"""The header's language switcher in Chromium, under the strict CSP: a visitor's choice is
kept in a cookie, a signed-in user's on their profile, and each goes back to its page."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from playwright.sync_api import Page, expect

from portal.accounts.models import User
from portal.extensions import db
from tests.helpers import PASSWORD

PO = Path(__file__).resolve().parents[2] / "portal/translations/zh_Hans/LC_MESSAGES/messages.po"


def zh(message: str) -> str:
    with PO.open("rb") as fh:
        return read_po(fh)[message].string


def test_switching_language_as_visitor_then_as_distributor(
    page: Page, live_server: str, app: Flask, make_distributor
) -> None:
    make_distributor("lang@shop.example", name="Wang")
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Sign in"))

    page.get_by_label(zh("Email")).fill("lang@shop.example")
    page.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name=zh("Sign in")).click()
    expect(page.get_by_role("heading", name=zh("My money"))).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My money")).to_be_visible()
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "lang@shop.example"))
        assert user.locale == "en"
