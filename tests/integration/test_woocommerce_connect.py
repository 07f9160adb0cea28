"""Connecting the shop from Admin → Shop against a loopback shop that checks the keys as
WooCommerce does: OAuth 1.0a over plain HTTP, Basic auth over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from plugins.woocommerce_bridge import credentials, sync
from plugins.woocommerce_bridge.models import WooConnection, WooDelivery
from plugins.woocommerce_bridge.webhooks import TOPICS
from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.settings import services as settings
from tests.helpers import csrf_token, login
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer, deliver, woo_order

DELIVERY_URL = "http://localhost/woocommerce/webhook"  # the test client's host


@pytest.fixture
def fake(app: Flask) -> Iterator[tuple[FakeShop, ShopServer]]:
    shop = FakeShop(currency="CNY", timezone_string="Asia/Shanghai", gmt_offset="8")
    with ShopServer(shop) as server:
        yield shop, server


def connect(client, url: str, key: str = KEY, secret: str = API_SECRET, **more: str):
    token = csrf_token(client, "/admin/shop")
    data = {"csrf_token": token, "store_url": url, "consumer_key": key, "consumer_secret": secret}
    return client.post("/admin/shop/connect", data={**data, **more})


def test_connect_over_http_signs_with_oauth_and_makes_the_webhooks(
    app: Flask, admin_client, fake, client
) -> None:
    shop, server = fake
    answer = connect(admin_client, server.url + "/")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert set(shop.auth_used) == {"oauth1"}  # the shop takes nothing else over HTTP
    hooks = sorted(shop.webhooks.values(), key=lambda h: h["id"])
    assert [h["topic"] for h in hooks] == list(TOPICS)
    assert {h["delivery_url"] for h in hooks} == {DELIVERY_URL}
    assert {h["status"] for h in hooks} == {"active"}
    assert {h["api_version"] for h in hooks} == {"wp_api_v3"}  # made under /wc/v3
    secrets = {h["secret"] for h in hooks}
    assert len(secrets) == 1 and len(secrets.pop()) >= 32

    with app.app_context():
        stored = db.session.get(WooConnection, 1)
        assert stored.store_url == server.url  # no trailing slash
        assert API_SECRET not in stored.consumer_secret and KEY not in stored.consumer_key
        found = credentials.effective()
        assert (found.store_url, found.key, found.secret) == (server.url, KEY, API_SECRET)
        assert app.config["WOO_STORE_URL"] == ""  # no restart, no configuration
        assert settings.get("currency") == "CNY"  # taken from the shop on connecting
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"shop.connect", "setting.update"} <= actions

    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert f"Shop: {server.url}" in page and "OAuth 1.0a" in page
    assert "Asia/Shanghai (UTC+08:00)" in page
    assert API_SECRET not in page  # never echoed back
    assert 'name="consumer_secret" type="password" value=""' in page
    assert page.count("badge-active") >= 4

    # The secret the shop was given is the one the portal checks deliveries with.
    secret = hooks[0]["secret"]
    assert deliver(client, "order.created", woo_order(5), secret=secret).status_code == 200
    assert deliver(client, "order.created", woo_order(6), secret="other").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(WooDelivery.shop_order_id)) == "5"
        sync.periodic_reconcile()  # the 15-minute job runs now: the shop is configured
    assert any(r.startswith("GET /wp-json/wc/v3/orders?") for r in shop.requests)


def test_over_https_the_keys_go_as_basic_auth(app: Flask, admin_client, monkeypatch) -> None:
    shop = FakeShop()
    with ShopServer(shop, tls=True) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        refused = connect(admin_client, server.url, secret="cs_wrong")
        assert refused.status_code == 400
        assert (
            "Not connected: the shop refused the key and secret sent with Basic auth over "
            "HTTPS: Consumer secret is invalid."
        ) in refused.get_data(as_text=True)
        assert connect(admin_client, server.url).status_code == 302
    assert shop.auth_used and set(shop.auth_used) == {"basic"}
    assert len(shop.webhooks) == 4
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "the shop took Basic auth over HTTPS" in page


def test_basic_auth_over_plain_http_is_refused_as_woocommerce_does(fake) -> None:
    _shop, server = fake
    answer = httpx.get(f"{server.url}/wp-json/wc/v3/orders", auth=(KEY, API_SECRET))
    assert answer.status_code == 401
    assert answer.json()["code"] == "woocommerce_rest_cannot_view"


def test_wrong_keys_keep_nothing_and_say_which_auth_was_refused(
    app: Flask, admin_client, fake
) -> None:
    shop, server = fake
    answer = connect(admin_client, server.url, secret="cs_wrong")
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert (
        "the shop refused the key and secret signed with OAuth 1.0a over plain HTTP: "
        "Invalid signature - provided signature does not match."
    ) in page
    assert "cs_wrong" not in page
    with app.app_context():
        assert db.session.get(WooConnection, 1) is None
        assert settings.get("currency") == "USD"
    assert shop.webhooks == {}


def test_a_read_only_key_connects_but_says_the_webhooks_were_not_made(
    app: Flask, admin_client, fake
) -> None:
    shop, server = fake
    shop.permissions = "read"
    answer = connect(admin_client, server.url)
    assert answer.status_code == 302
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "The webhooks were not made" in page
    assert "does not have write permissions" in page
    assert shop.webhooks == {}
    with app.app_context():
        assert credentials.effective().rest


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("store_url", "ftp://shop.example", "starting with https:// or http://"),
        ("store_url", "https://shop.example/\x00", "Remove the control characters"),
        ("store_url", "https://" + "a" * 250 + ".example", "Field cannot be longer than 255"),
        ("store_url", "https://me:pw@shop.example", "no user name"),
        ("store_url", "https://shop.example:port", "port in the address is not a number"),
        ("consumer_key", "key-without-prefix", "starts with ck_"),
        ("consumer_key", "ck_\x00abc", "Remove the control characters"),
        ("consumer_key", "ck_" + "a" * 200, "Field cannot be longer than 128"),
        ("consumer_secret", "cs_with space", "starts with cs_"),
        ("consumer_secret", "", "Copy it from WooCommerce"),
    ],
)
def test_the_connect_form_refuses_bad_input(
    app: Flask, admin_client, fake, field: str, value: str, message: str
) -> None:
    shop, server = fake
    answer = connect(admin_client, server.url, **{field: value})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page
    assert "\x00" not in page
    assert shop.requests == []  # nothing was sent to the shop
    with app.app_context():
        assert db.session.get(WooConnection, 1) is None


def test_the_connect_form_is_for_admins_only_and_needs_its_csrf_token(
    app: Flask, admin_client, make_user, fake
) -> None:
    shop, server = fake
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    login(ops, "ops@shop.example")
    page = ops.get("/admin/shop").get_data(as_text=True)
    assert "connect-form" not in page and "Repair webhooks" not in page
    assert connect(ops, server.url).status_code == 403
    no_token = admin_client.post(
        "/admin/shop/connect",
        data={"store_url": server.url, "consumer_key": KEY, "consumer_secret": API_SECRET},
    )
    assert no_token.status_code == 400
    admin_page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert 'id="connect-form"' in admin_page and 'name="csrf_token"' in admin_page
    assert shop.requests == []
    with app.app_context():
        assert db.session.get(WooConnection, 1) is None


def test_empty_keys_keep_the_stored_ones(app: Flask, admin_client, fake) -> None:
    shop, server = fake
    assert connect(admin_client, server.url).status_code == 302
    shop.currency = "EUR"
    again = connect(admin_client, server.url, key="", secret="")
    assert again.status_code == 302
    with app.app_context():
        assert credentials.effective().secret == API_SECRET
        assert settings.get("currency") == "EUR"
    assert len(shop.webhooks) == 4  # repaired in place, not doubled


def test_the_environment_wins_over_the_form(app: Flask, admin_client, fake) -> None:
    _shop, server = fake
    assert connect(admin_client, server.url).status_code == 302
    with app.app_context():
        stored = db.session.get(WooConnection, 1)
        stored.consumer_secret = credentials.encrypt("cs_stale")
        db.session.commit()
    app.config.update(WOO_CONSUMER_SECRET=API_SECRET)
    try:
        with app.app_context():
            found = credentials.effective()
            assert found.secret == API_SECRET and found.from_environment == {"secret"}
        page = admin_client.get("/admin/shop").get_data(as_text=True)
        assert 'name="consumer_secret"' not in page and "WOO_CONSUMER_SECRET" in page
        assert 'name="store_url"' in page
    finally:
        app.config.update(WOO_CONSUMER_SECRET="")


def test_a_changed_secret_key_makes_the_stored_keys_unreadable(
    app: Flask, admin_client, fake
) -> None:
    _shop, server = fake
    assert connect(admin_client, server.url).status_code == 302
    saved = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key"
    try:
        with app.app_context():
            found = credentials.effective()
            assert found.unreadable and not found.rest and found.store_url == server.url
    finally:
        app.config["SECRET_KEY"] = saved
    with app.app_context():
        assert credentials.effective().secret == API_SECRET


def test_the_loopback_shop_refuses_a_replayed_or_tampered_oauth_request(fake) -> None:
    """The shop's OAuth check can fail, so the tests that pass through it mean something."""
    from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_QUERY
    from oauthlib.oauth1 import Client as OAuth1Client

    _shop, server = fake
    url = f"{server.url}/wp-json/wc/v3/orders?include=1,2&modified_after=2026-11-10T13:59:58"
    signer = OAuth1Client(
        KEY,
        client_secret=API_SECRET,
        signature_method=SIGNATURE_HMAC_SHA1,  # WooCommerce takes SHA1 as well as SHA256
        signature_type=SIGNATURE_TYPE_QUERY,
    )
    signed, _, _ = signer.sign(url, "GET")
    assert httpx.get(signed).status_code == 200
    replayed = httpx.get(signed)
    assert replayed.status_code == 401
    assert replayed.json()["message"] == "Invalid nonce - nonce has already been used."
    tampered = signer.sign(url, "GET")[0].replace("include=1%2C2", "include=1%2C3")
    answer = httpx.get(tampered)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Invalid signature - provided signature does not match."
    stale = OAuth1Client(
        KEY,
        client_secret=API_SECRET,
        signature_type=SIGNATURE_TYPE_QUERY,
        timestamp="1000000000",
    ).sign(url, "GET")[0]
    assert httpx.get(stale).json()["message"] == "Invalid timestamp."
