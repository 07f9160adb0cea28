"""Sign in with the shop account, end to end: the companion plugin's assertion (made here
with PyJWT as the plugin makes it, and once by the plugin's own PHP signer) arrives at
``/woocommerce/signin``; refusals get a clear page, never a 500; a proven shop account
signs in; an account that may be theirs is connected with its password once; anyone else
joins in one tap with the shop's name and email, ``shop_customer_id`` linked.

The contract (the plugin's includes/signin.php): a JWT, HS256 with the sign-in secret,
claims iss = the shop's home URL, sub = customer id, email, name, locale, iat, exp = iat +
120, jti = a one-time nonce, optional ref."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugins.woocommerce_bridge import credentials, signin
from plugins.woocommerce_bridge.models import WooConnection, WooSigninNonce
from portal.accounts.models import NO_PASSWORD, Role, User
from portal.audit.models import AuditEntry
from portal.distributors.models import Distributor, DistributorStatus, ShopAccount
from portal.extensions import db
from portal.settings import services as settings
from tests.helpers import PASSWORD, csrf_from, csrf_token, login

SECRET = "shop-signin-secret-for-tests-0123456789"
SHOP = "https://shop.example"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop_signin(app: Flask) -> Iterator[Flask]:
    app.config.update(WOO_STORE_URL=SHOP, WOO_SIGNIN_SECRET=SECRET)
    yield app
    app.config.update(WOO_STORE_URL="", WOO_SIGNIN_SECRET="")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    made = {
        "iss": SHOP + "/",
        "sub": "42",
        "email": "Lin.Mei@Example.com",
        "name": "Lin Mei",
        "locale": "zh_CN",
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    made.update(changes)
    return {k: v for k, v in made.items() if v is not None}


def token(secret: str = SECRET, **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm="HS256")


def arrive(client: FlaskClient, value: str) -> Any:
    return client.get("/woocommerce/signin", query_string={"token": value})


def signed_in_as(client: FlaskClient) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def configure(app: Flask, **values: object) -> None:
    with app.app_context():
        settings.update(values, None)  # type: ignore[arg-type]
        db.session.commit()


def connect_account(app: Flask, distributor_id: int, customer_id: str = "42") -> None:
    with app.app_context():
        db.session.add(ShopAccount(distributor_id=distributor_id, customer_id=customer_id))
        db.session.commit()


def _tampered() -> str:
    header, _payload, signature = token().split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(sub="1")).encode()).decode()
    return f"{header}.{forged}.{signature}"


def _unsigned() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    payload = jwt.utils.base64url_encode(json.dumps(claims()).encode()).decode()
    return f"{header}.{payload}."


REFUSALS = {
    "empty": (lambda: "", 400, "damaged or incomplete"),
    "garbage": (lambda: "not-a-token", 400, "damaged or incomplete"),
    "three parts of nonsense": (lambda: "a.b.c", 400, "damaged or incomplete"),
    "alg none": (_unsigned, 400, "damaged or incomplete"),
    "no nonce": (lambda: token(jti=None), 400, "damaged or incomplete"),
    "short nonce": (lambda: token(jti="abc"), 400, "damaged or incomplete"),
    "customer id not a number": (lambda: token(sub="x1"), 400, "damaged or incomplete"),
    "bad email": (lambda: token(email="not an email"), 400, "damaged or incomplete"),
    "NUL in the name": (lambda: token(name="Lin\x00"), 400, "damaged or incomplete"),
    "huge": (lambda: token(name="x" * 5000), 400, "damaged or incomplete"),
    "wrong shop": (lambda: token(iss="https://other-shop.example"), 403, "another shop"),
    "tampered claims": (_tampered, 403, "changed or signed with another secret"),
    "other secret": (
        lambda: token(secret="not-the-secret-of-this-shop-0123456789"),
        403,
        "another secret",
    ),
    "expired": (
        lambda: token(iat=int(time.time()) - 400, exp=int(time.time()) - 280),
        403,
        "has expired",
    ),
    "issued in the future": (
        lambda: token(iat=int(time.time()) + 600, exp=int(time.time()) + 700),
        403,
        "has expired",
    ),
    "valid for too long": (lambda: token(exp=int(time.time()) + 3600), 403, "has expired"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_assertion_gets_a_clear_page_and_signs_nobody_in(
    shop_signin: Flask, client: FlaskClient, make_distributor, case: str
) -> None:
    distributor_id, _code = make_distributor("lin.mei@example.com")
    connect_account(shop_signin, distributor_id)
    make, status, says = REFUSALS[case]
    response = arrive(client, make())
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert "Signing in with the shop account did not work" in page
    assert says in page
    assert signed_in_as(client) is None


def test_a_used_assertion_is_refused_the_second_time(
    shop_signin: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, _code = make_distributor("lin.mei@example.com")
    connect_account(shop_signin, distributor_id)
    once = token()
    assert arrive(client, once).status_code == 302
    other = shop_signin.test_client()
    again = arrive(other, once)
    assert again.status_code == 403
    assert "already used" in again.get_data(as_text=True)
    assert signed_in_as(other) is None


def test_without_a_secret_signing_in_through_the_shop_is_off(
    app: Flask, client: FlaskClient
) -> None:
    app.config.update(WOO_STORE_URL=SHOP)
    try:
        response = arrive(client, token())
    finally:
        app.config.update(WOO_STORE_URL="")
    assert response.status_code == 403
    assert "not set up yet" in response.get_data(as_text=True)


def test_a_refusal_page_speaks_chinese(shop_signin: Flask, client: FlaskClient) -> None:
    client.set_cookie("locale", "zh_Hans")
    response = arrive(client, "nonsense")
    assert response.status_code == 400
    assert '<html lang="zh' in response.get_data(as_text=True)


def test_a_connected_shop_account_signs_in_with_the_session_version(
    shop_signin: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, _code = make_distributor("lin.mei@example.com")
    connect_account(shop_signin, distributor_id)
    with shop_signin.app_context():
        user = db.session.get(Distributor, distributor_id).user
        user.end_sessions()
        user.end_sessions()
        db.session.commit()
        expected = user.get_id()
    response = arrive(client, token(email="changed@example.com"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert signed_in_as(client) == expected  # "<id>:2"
    assert client.get("/me/").status_code == 200
    with shop_signin.app_context():
        account = db.session.scalar(select(ShopAccount))
        assert account.last_signin_at is not None
        assert db.session.scalar(select(func.count()).select_from(WooSigninNonce)) == 1
        db.session.get(Distributor, distributor_id).user.end_sessions()
        db.session.commit()
    assert client.get("/me/").status_code == 302  # that session ended like any other


def test_a_new_customer_joins_in_one_tap_with_the_shop_identity(
    shop_signin: Flask, client: FlaskClient
) -> None:
    response = arrive(client, token())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/join/shop")
    page = client.get("/join/shop").get_data(as_text=True)
    assert 'value="Lin Mei"' in page
    assert "lin.mei@example.com" in page
    assert 'name="password"' not in page
    sent = client.post(
        "/join/shop",
        data={"csrf_token": csrf_from(page), "display_name": "Lin Mei", "role": "affiliate"},
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    assert sent.headers["Location"].endswith("/me/")
    with shop_signin.app_context():
        distributor = db.session.scalar(select(Distributor))
        assert distributor.user.email == "lin.mei@example.com"
        assert distributor.shop_customer_id == "42"
        assert distributor.status is DistributorStatus.APPLIED  # apply and approval
        assert distributor.user.locale == "zh_Hans"  # from the shop's zh_CN
        assert distributor.user.password_hash == NO_PASSWORD
        assert db.session.scalar(select(ShopAccount.customer_id)) == "42"
    # Next time the shop's link signs them straight in.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/me/")})
    assert signed_in_as(client) is None
    assert arrive(client, token()).headers["Location"].endswith("/")
    assert client.get("/me/").status_code == 200


def test_joining_through_the_shop_follows_the_mode_terms_and_referrer(
    shop_signin: Flask, client: FlaskClient, make_distributor
) -> None:
    upline_id, code = make_distributor("upline@example.com")
    configure(shop_signin, recruitment_mode="open", recruitment_terms="Be honest.")
    arrive(client, token(ref=code.lower(), locale="en_GB"))
    page = client.get("/join/shop").get_data(as_text=True)
    assert "Be honest." in page
    assert "invited you to join their team" in page
    unticked = client.post(
        "/join/shop",
        data={"csrf_token": csrf_from(page), "display_name": "Lin Mei", "role": "affiliate"},
    )
    assert unticked.status_code == 400
    assert "Accept the terms" in unticked.get_data(as_text=True)
    version = hashlib.sha256(b"Be honest.").hexdigest()
    done = client.post(
        "/join/shop",
        data={
            "csrf_token": csrf_from(page),
            "display_name": "Mei",
            "role": "affiliate",
            "accept_terms": "y",
            "terms_version": version,
        },
    )
    assert done.status_code == 302
    with shop_signin.app_context():
        joined = db.session.scalar(select(Distributor).where(Distributor.shop_customer_id == "42"))
        assert joined.status is DistributorStatus.ACTIVE  # open mode
        assert joined.parent_id == upline_id
        assert joined.display_name == "Mei"
        assert joined.terms_version == version
        assert joined.user.locale == "en"


def test_the_join_page_needs_a_fresh_shop_identity(client: FlaskClient) -> None:
    response = client.get("/join/shop")
    assert response.status_code == 400
    assert "open Distributor centre in the shop again" in response.get_data(as_text=True)
    assert client.get("/join/shop/connect").status_code == 400


@pytest.mark.parametrize("linked_by", ["email", "customer id lookup"])
def test_an_existing_account_is_connected_with_its_password_once(
    shop_signin: Flask, client: FlaskClient, make_distributor, linked_by: str
) -> None:
    """Neither the shop nor the portal verifies emails, so an email match (or a customer
    id found by email) signs nobody in: the portal password proves the account once."""
    email = "lin.mei@example.com" if linked_by == "email" else "old.address@example.com"
    distributor_id, _code = make_distributor(email)
    if linked_by != "email":
        with shop_signin.app_context():
            db.session.get(Distributor, distributor_id).shop_customer_id = "42"
            db.session.commit()
    response = arrive(client, token())
    assert response.headers["Location"].endswith("/join/shop/connect")
    assert signed_in_as(client) is None
    page = client.get("/join/shop/connect").get_data(as_text=True)
    assert email in page
    wrong = client.post(
        "/join/shop/connect", data={"csrf_token": csrf_from(page), "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert signed_in_as(client) is None
    right = client.post(
        "/join/shop/connect", data={"csrf_token": csrf_from(page), "password": PASSWORD}
    )
    assert right.status_code == 302
    with shop_signin.app_context():
        distributor = db.session.get(Distributor, distributor_id)
        assert distributor.shop_customer_id == "42"
        assert db.session.scalar(select(ShopAccount.distributor_id)) == distributor_id
        assert db.session.scalar(select(func.count()).select_from(Distributor)) == 1
    fresh = shop_signin.test_client()
    assert arrive(fresh, token()).headers["Location"].endswith("/")
    assert fresh.get("/me/").status_code == 200


def test_staff_never_sign_in_through_the_shop(
    shop_signin: Flask, client: FlaskClient, make_user
) -> None:
    make_user("lin.mei@example.com", Role.ADMIN)
    response = arrive(client, token())
    assert response.status_code == 403
    assert "staff account" in response.get_data(as_text=True)
    assert signed_in_as(client) is None


def test_someone_else_signed_in_is_not_replaced(
    shop_signin: Flask, client: FlaskClient, make_distributor
) -> None:
    make_distributor("other@example.com")
    mine, _code = make_distributor("lin.mei@example.com")
    connect_account(shop_signin, mine)
    login(client, "other@example.com")
    before = signed_in_as(client)
    response = arrive(client, token())
    assert response.status_code == 409
    assert "other@example.com" in response.get_data(as_text=True)
    assert signed_in_as(client) == before


def test_expired_nonces_are_purged(shop_signin: Flask, client: FlaskClient) -> None:
    arrive(client, token())
    arrive(client, token(iat=int(time.time()) - 100, exp=int(time.time()) - 10))  # skew
    with shop_signin.app_context():
        assert db.session.scalar(select(func.count()).select_from(WooSigninNonce)) == 2
        assert signin.purge_nonces() == 0  # both still within expiry + skew
        for row in db.session.scalars(select(WooSigninNonce)):
            row.expires_at -= timedelta(hours=1)
        db.session.commit()
        assert signin.purge_nonces() == 2


def test_the_shop_address_is_compared_by_host_and_path() -> None:
    assert signin.shop_key("https://Shop.Example/") == signin.shop_key("http://shop.example")
    assert signin.shop_key("https://shop.example/wp") != signin.shop_key("https://shop.example")
    assert signin.shop_key("https://shop.example:8443") != signin.shop_key("https://shop.example")


def test_admin_generates_the_secret_kept_encrypted_and_ops_see_it_masked(
    app: Flask, admin_client: FlaskClient, make_user
) -> None:
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "None yet: signing in with the shop account is off." in page
    response = admin_client.post("/admin/shop/signin/secret", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    with app.app_context():
        secret = credentials.effective().signin_secret
        stored = db.session.get(WooConnection, 1).signin_secret
        assert len(secret) >= 40 and secret not in stored
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "shop.signin_secret")
        )
        assert entry is not None and secret not in json.dumps(entry.after)
    page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert f'value="{secret}"' in page
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    login(ops, "ops@shop.example")
    page = ops.get("/admin/shop").get_data(as_text=True)
    assert secret not in page and secret[:3] + "•" in page
    refused = ops.post("/admin/shop/signin/secret", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403


PHP = shutil.which("php")
SIGNER = ROOT / "tests" / "php" / "sign.php"


@pytest.mark.skipif(PHP is None, reason="php-cli is not installed")
def test_the_plugins_php_signer_makes_what_the_portal_verifies(
    shop_signin: Flask, client: FlaskClient
) -> None:
    customer = {
        "id": 42,
        "email": "lin.mei@example.com",
        "name": "林梅",
        "locale": "zh_CN",
        "shop": SHOP + "/",
    }
    made = subprocess.run(
        [PHP, str(SIGNER), SECRET, json.dumps(customer)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert made.returncode == 0, made.stderr  # the PHP-side unit checks passed
    with shop_signin.test_request_context():
        identity = signin.verify(made.stdout.strip())
    assert identity.customer_id == "42"
    assert identity.name == "林梅"
    assert identity.locale == "zh_Hans"
    # A PHP token for another secret fails the portal's check.
    other = subprocess.run(
        [PHP, str(SIGNER), "another", json.dumps(customer)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    assert arrive(client, other).status_code == 403
    with shop_signin.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
