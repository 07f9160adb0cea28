"""Forgot password in Chromium: ask for a link, read the email from the outbox, open the
link, choose a new password, sign in with it."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from portal.accounts.models import Role
from tests.helpers import PASSWORD, link_in

NEW = "a-fresh-passphrase-7"


def test_reset_a_forgotten_password_and_sign_in(
    page: Page, live_server: str, app: Flask, make_user, outbox
) -> None:
    make_user("forgetful@shop.example", Role.OPS)
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("Email").fill("forgetful@shop.example")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    (message,) = outbox()
    assert message["To"] == "forgetful@shop.example"
    page.goto(live_server + link_in(message))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill("password1")  # a common one first
    page.get_by_label("Repeat new password").fill("password1")
    page.get_by_role("button", name="Save password").click()
    expect(page.locator("#password-error")).to_contain_text("most common")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("Repeat new password").fill(NEW)
    page.get_by_role("button", name="Save password").click()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator(".flash-success")).to_contain_text("Your password is set")

    page.get_by_label("Email").fill("forgetful@shop.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)  # the old one is gone
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-errors")).to_contain_text("Email or password is incorrect.")
    page.get_by_label("Password", exact=True).fill(NEW)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server}/admin/")

    page.goto(live_server + link_in(message))  # the link worked once
    expect(page.get_by_role("heading", level=1)).to_contain_text("already used")
