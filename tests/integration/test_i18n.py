"""Pages, emails and the language switcher in English and Simplified Chinese: the
translated text comes from the catalogue, money is formatted by Babel for the locale and
the shop currency, and the locale is chosen profile → cookie → Accept-Language → shop
default."""

from __future__ import annotations

import email
import re
from decimal import Decimal as D
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from flask import Flask
from flask.testing import FlaskClient
from wtforms.i18n import messages_path

from portal.accounts.models import Role, User
from portal.commissions.labels import STATE_LABELS as COMMISSION_STATES
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.notifications import mail
from portal.notifications.models import Notification, NotificationKind
from portal.settings.models import Setting
from portal.withdrawals.labels import STATE_LABELS as WITHDRAWAL_STATES
from portal.withdrawals.models import WithdrawalState
from tests.helpers import PASSWORD, csrf_token, login
from tests.money import earn

TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "translations"
CHINESE = "zh-CN,zh;q=0.9,en;q=0.5"


def zh(message: str, context: str | None = None) -> str:
    """The Chinese catalogue's translation, so the test does not hard-code it."""
    with (TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    entry = catalogue.get(message, context=context)
    assert entry is not None and entry.string, message
    return entry.string


def lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match
    return match.group(1)


def set_setting(app: Flask, key: str, value: object) -> None:
    with app.app_context():
        db.session.merge(Setting(key=key, value=value))
        db.session.commit()


def set_locale(app: Flask, email_address: str, locale: str | None) -> None:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email_address))
        user.locale = locale
        db.session.commit()


@pytest.fixture
def earner(app: Flask, plan, make_distributor) -> int:
    """A distributor with 1,234.50 available in a shop that sells in yuan."""
    set_setting(app, "currency", "CNY")
    distributor_id, _ = make_distributor("earner@shop.example", name="Lin")
    earn(app, distributor_id, "1234.50", "1001", currency="CNY")
    return distributor_id


def _available(html: str) -> str:
    match = re.search(r'data-bucket="available">([^<]+)<', html)
    assert match, "no available balance on the page"
    return match.group(1)


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_dashboard_speaks_the_profile_language_and_formats_money(
    app: Flask, client: FlaskClient, earner: int, locale: str
) -> None:
    set_locale(app, "earner@shop.example", locale)
    assert login(client, "earner@shop.example").status_code == 302
    html = client.get("/me/").get_data(as_text=True)
    assert lang(html) == locale.replace("_", "-")
    assert _available(html) == format_currency(D("1234.50"), "CNY", locale=locale)
    heading = "My money" if locale == "en" else zh("My money")
    assert f">{heading}</h2>" in html
    if locale == "zh_Hans":
        assert "My money" not in html and "Sign out" not in html


def test_the_two_languages_differ_on_the_dashboard(
    app: Flask, client: FlaskClient, earner: int
) -> None:
    login(client, "earner@shop.example")
    english = client.get("/me/").get_data(as_text=True)
    set_locale(app, "earner@shop.example", "zh_Hans")
    chinese = client.get("/me/").get_data(as_text=True)
    assert english != chinese
    assert _available(english) == "CN¥1,234.50" and _available(chinese) == "¥1,234.50"


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_an_admin_page_in_each_language(
    app: Flask, client: FlaskClient, make_user, earner: int, locale: str
) -> None:
    make_user("boss@shop.example", Role.ADMIN)
    set_locale(app, "boss@shop.example", locale)
    login(client, "boss@shop.example")
    html = client.get(f"/admin/distributors/{earner}").get_data(as_text=True)
    assert _available(html) == format_currency(D("1234.50"), "CNY", locale=locale)
    for text in ("Money", "Audit trail"):
        assert (text if locale == "en" else zh(text)) in html
    overview = client.get("/admin/").get_data(as_text=True)
    title = "Programme overview" if locale == "en" else zh("Programme overview")
    assert f"<h1>{title}</h1>" in overview


def test_form_errors_and_flashes_follow_the_language(app: Flask, client: FlaskClient) -> None:
    """Validator messages come from WTForms' own Chinese catalogue, the rest from ours."""
    token = csrf_token(client)
    html = client.post(
        "/login",
        data={"email": "", "password": "", "csrf_token": token},
        headers={"Accept-Language": CHINESE},
    ).get_data(as_text=True)
    with (Path(messages_path()) / "zh" / "LC_MESSAGES" / "wtforms.po").open("rb") as fh:
        required = read_po(fh).get("This field is required.").string
    assert required and required in html
    html = client.post(
        "/login",
        data={"email": "nobody@shop.example", "password": "wrong-password", "csrf_token": token},
        headers={"Accept-Language": CHINESE},
    ).get_data(as_text=True)
    assert zh("Email or password is incorrect.") in html


def test_error_pages_are_translated(client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers={"Accept-Language": CHINESE})
    assert response.status_code == 404
    assert zh("We could not find that page.") in response.get_data(as_text=True)
    english = client.get("/no-such-page", headers={"Accept-Language": "en-GB"})
    assert "We could not find that page." in english.get_data(as_text=True)


def test_short_link_pages_are_translated(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = client.get("/r/NOSUCHCODE", headers={"Accept-Language": CHINESE})
    assert response.status_code == 503  # no shop configured yet
    assert zh("The shop is not available right now") in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "WOO_STORE_URL", "https://shop.example")
    response = client.get("/r/NOSUCHCODE", headers={"Accept-Language": CHINESE})
    assert response.status_code == 404
    assert zh("This link does not work any more") in response.get_data(as_text=True)


def test_one_english_word_two_chinese_meanings(app: Flask) -> None:
    """ "Paid" of a commission (settled) and of a withdrawal (money sent) differ in Chinese;
    the message context keeps them apart."""
    with app.test_request_context(headers={"Accept-Language": CHINESE}):
        assert str(COMMISSION_STATES["paid"]) == zh("Paid")
        assert str(WITHDRAWAL_STATES[WithdrawalState.PAID]) == zh("Paid", "withdrawal state")
        assert zh("Paid") != zh("Paid", "withdrawal state")


# --- which language --------------------------------------------------------------------


def test_shop_default_when_nothing_else_says(app: Flask, client: FlaskClient) -> None:
    assert lang(client.get("/").get_data(as_text=True)) == "en"
    set_setting(app, "default_locale", "zh_Hans")
    assert lang(client.get("/").get_data(as_text=True)) == "zh-Hans"
    # A language we do not have falls through to the default too.
    assert lang(client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)) == (
        "zh-Hans"
    )


def test_accept_language_beats_the_shop_default(app: Flask, client: FlaskClient) -> None:
    set_setting(app, "default_locale", "zh_Hans")
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert lang(html) == "en"
    set_setting(app, "default_locale", "en")
    for header in ("zh-CN", "zh-Hans-CN", "zh", "zh-SG"):
        assert lang(client.get("/", headers={"Accept-Language": header}).get_data(True)) == (
            "zh-Hans"
        ), header


def test_cookie_beats_accept_language(client: FlaskClient) -> None:
    client.set_cookie("locale", "zh_Hans")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert lang(html) == "zh-Hans"
    client.set_cookie("locale", "klingon")  # not a language we have: ignored
    assert lang(client.get("/", headers={"Accept-Language": "en"}).get_data(True)) == "en"


def test_profile_beats_cookie(app: Flask, client: FlaskClient, make_distributor) -> None:
    make_distributor("pref@shop.example")
    set_locale(app, "pref@shop.example", "en")
    login(client, "pref@shop.example")
    client.set_cookie("locale", "zh_Hans")
    html = client.get("/me/", headers={"Accept-Language": CHINESE}).get_data(as_text=True)
    assert lang(html) == "en"
    # No profile choice: the visitor's cookie still counts after signing in.
    set_locale(app, "pref@shop.example", None)
    assert lang(client.get("/me/").get_data(as_text=True)) == "zh-Hans"


# --- the switcher ------------------------------------------------------------------------


def test_switcher_is_in_the_header_without_inline_script(client: FlaskClient) -> None:
    html = client.get("/login?next=%2Fme").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/locale".*?</form>', html, re.S)
    assert form, "no switcher"
    assert 'name="csrf_token"' in form.group(0)
    assert 'name="next" value="/login?next=%2Fme"' in form.group(0)
    assert 'value="zh_Hans" lang="zh-Hans"' in form.group(0) and "简体中文" in form.group(0)
    assert "<script>" not in html and "onclick" not in html


def test_switcher_sets_a_cookie_for_visitors(client: FlaskClient) -> None:
    token = csrf_token(client, "/")
    response = client.post(
        "/locale", data={"locale": "zh_Hans", "next": "/login", "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    cookie = client.get_cookie("locale")
    assert cookie is not None and cookie.value == "zh_Hans" and cookie.http_only
    assert lang(client.get("/login").get_data(as_text=True)) == "zh-Hans"


def test_switcher_saves_the_profile_when_signed_in(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    make_distributor("switch@shop.example")
    login(client, "switch@shop.example", PASSWORD)
    token = csrf_token(client, "/me")
    response = client.post(
        "/locale", data={"locale": "zh_Hans", "next": "/me", "csrf_token": token}
    )
    assert response.headers["Location"] == "/me"
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "switch@shop.example"))
        assert user.locale == "zh_Hans"
    assert client.get_cookie("locale") is None
    assert lang(client.get("/me/", headers={"Accept-Language": "en"}).get_data(True)) == "zh-Hans"


def test_switcher_needs_the_csrf_token(app: Flask, client: FlaskClient, make_distributor) -> None:
    make_distributor("csrf@shop.example")
    login(client, "csrf@shop.example")
    response = client.post("/locale", data={"locale": "zh_Hans", "next": "/me"})
    assert response.status_code == 400
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "csrf@shop.example"))
        assert user.locale is None


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_switcher_only_goes_back_to_local_pages(client: FlaskClient, target: str) -> None:
    token = csrf_token(client, "/")
    response = client.post("/locale", data={"locale": "en", "next": target, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_switcher_refuses_an_unknown_language(client: FlaskClient) -> None:
    token = csrf_token(client, "/")
    response = client.post("/locale", data={"locale": "fr", "csrf_token": token})
    assert response.status_code == 400 and client.get_cookie("locale") is None


# --- emails ------------------------------------------------------------------------------


def _subject(message: email.message.Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_emails_are_written_in_the_recipients_language(
    app: Flask, make_distributor, outbox
) -> None:
    """The job runs in the shop's default language (English); each email still speaks
    its recipient's: a profile choice, else the shop default."""
    chinese, _ = make_distributor("zh@shop.example")
    english, _ = make_distributor("en@shop.example")
    set_locale(app, "zh@shop.example", "zh_Hans")
    with app.app_context():
        for distributor_id in (chinese, english):
            db.session.add(
                Notification(
                    distributor_id=distributor_id,
                    kind=NotificationKind.COMMISSION_AVAILABLE,
                    params={"count": 2, "amount": "1234.50", "currency": "USD"},
                )
            )
        db.session.commit()
        assert mail.deliver_emails() == 2
    by_recipient = {message["To"]: message for message in outbox()}
    to_zh, to_en = by_recipient["zh@shop.example"], by_recipient["en@shop.example"]
    assert _subject(to_zh) == zh("Commission available")
    assert _subject(to_en) == "Commission available"
    body_zh = to_zh.get_payload(decode=True).decode()
    assert format_currency(D("1234.50"), "USD", locale="zh_Hans") in body_zh
    assert body_zh.startswith("2 ") and "commissions" not in body_zh
    assert "2 commissions became available: $1,234.50" in to_en.get_payload(decode=True).decode()


# --- the language of sign-up and sign-in --------------------------------------------------


def _user_locale(app: Flask, email_address: str) -> str | None:
    with app.app_context():
        return db.session.scalar(db.select(User.locale).where(User.email == email_address))


def test_a_chinese_applicant_is_approved_in_chinese(
    app: Flask, admin_client: FlaskClient, outbox
) -> None:
    """The page's language at sign-up is saved on the user, so the approval email (sent
    by a job in the shop's default language, English) speaks Chinese."""
    client = app.test_client()
    token = csrf_token(client, "/join")
    response = client.post(
        "/join",
        headers={"Accept-Language": CHINESE},
        data={
            "display_name": "王芳",
            "email": "wang@shop.example",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "role": "affiliate",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert _user_locale(app, "wang@shop.example") == "zh_Hans"
    with app.app_context():
        distributor_id = db.session.scalar(
            db.select(Distributor.id)
            .join(Distributor.user)
            .where(User.email == "wang@shop.example")
        )
    token = csrf_token(admin_client, "/admin/distributors/applications")
    admin_client.post(f"/admin/distributors/{distributor_id}/approve", data={"csrf_token": token})
    with app.app_context():
        assert mail.deliver_emails() == 1
    (approval,) = outbox()
    assert approval["Subject"] == zh("Your application was approved")
    assert approval["Content-Language"] == "zh-Hans"


def test_signing_in_keeps_the_language_chosen_on_the_page(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    make_distributor("switch@shop.example")
    set_locale(app, "switch@shop.example", "en")
    client.set_cookie("locale", "zh_Hans")  # chosen with the switcher before signing in
    assert login(client, "switch@shop.example").status_code == 302
    assert _user_locale(app, "switch@shop.example") == "zh_Hans"
    assert lang(client.get("/me/").get_data(as_text=True)) == "zh-Hans"


def test_signing_in_without_a_choice_keeps_the_profile(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    make_distributor("keep@shop.example")
    set_locale(app, "keep@shop.example", "zh_Hans")
    login(client, "keep@shop.example", HTTP_ACCEPT_LANGUAGE="en")
    assert _user_locale(app, "keep@shop.example") == "zh_Hans"


def test_account_emails_speak_the_recipients_language(
    app: Flask, client: FlaskClient, make_distributor, outbox
) -> None:
    make_distributor("reset-zh@shop.example")
    set_locale(app, "reset-zh@shop.example", "zh_Hans")
    token = csrf_token(client, "/password/forgot")
    client.post("/password/forgot", data={"email": "reset-zh@shop.example", "csrf_token": token})
    (message,) = outbox()
    assert message["Content-Language"] == "zh-Hans"
