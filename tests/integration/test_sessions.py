"""Every session and remember-me cookie of a user ends together: sign out everywhere, a
new password (changed or reset), deactivation. Cookie attributes."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie

from portal.accounts.models import Role, User
from portal.extensions import db
from tests.helpers import PASSWORD, choose_password, csrf_token, link_in, login

NEW = "a-fresh-passphrase-7"


def remembered(app: Flask, email: str, **environ) -> tuple[FlaskClient, FlaskClient]:
    """A browser signed in with "Keep me signed in", and a second one holding only its
    remember-me cookie (as after the browser was closed)."""
    browser = app.test_client()
    token = csrf_token(browser)
    response = browser.post(
        "/login",
        data={"email": email, "password": PASSWORD, "remember": "y", "csrf_token": token},
        environ_base=environ,
    )
    assert response.status_code == 302
    cookie = browser.get_cookie("remember_token")
    assert cookie is not None
    reopened = app.test_client()
    reopened.set_cookie("remember_token", cookie.value)
    return browser, reopened


def signed_in(client: FlaskClient, path: str = "/admin/") -> bool:
    return client.get(path).status_code == 200


def test_a_remember_me_cookie_alone_signs_in(app: Flask, make_user) -> None:
    make_user("keep@shop.example", Role.OPS)
    browser, reopened = remembered(app, "keep@shop.example")
    assert signed_in(browser) and signed_in(reopened)


def test_sign_out_everywhere_ends_every_session_and_remember_me(app: Flask, make_user) -> None:
    make_user("all@shop.example", Role.OPS)
    browser, reopened = remembered(app, "all@shop.example")
    laptop = app.test_client()
    assert login(laptop, "all@shop.example").status_code == 302
    page = laptop.get("/account/password").get_data(as_text=True)
    assert "Sign out everywhere" in page
    token = csrf_token(laptop, "/account/password")
    response = laptop.post("/account/sessions/end", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not any(signed_in(c) for c in (laptop, browser, reopened))
    assert login(laptop, "all@shop.example").status_code == 302  # signing in again works


def test_plain_logout_ends_only_this_browser(app: Flask, make_user) -> None:
    make_user("one@shop.example", Role.OPS)
    browser, reopened = remembered(app, "one@shop.example")
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/admin/")})
    assert not signed_in(browser)
    assert signed_in(reopened)


def test_a_password_change_ends_the_other_sessions_not_this_one(app: Flask, make_user) -> None:
    make_user("change@shop.example", Role.OPS)
    browser, reopened = remembered(app, "change@shop.example")
    other = app.test_client()
    login(other, "change@shop.example")
    token = csrf_token(browser, "/account/password")
    response = browser.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW,
            "confirm": NEW,
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert signed_in(browser)
    assert not signed_in(other) and not signed_in(reopened)
    # This browser's remember-me cookie was renewed with the new session version.
    again = app.test_client()
    again.set_cookie("remember_token", browser.get_cookie("remember_token").value)
    assert signed_in(again)


def test_a_password_reset_ends_every_session(app: Flask, make_user, outbox) -> None:
    make_user("reset@shop.example", Role.OPS)
    browser, reopened = remembered(app, "reset@shop.example")
    visitor = app.test_client()
    token = csrf_token(visitor, "/password/forgot")
    visitor.post("/password/forgot", data={"email": "reset@shop.example", "csrf_token": token})
    assert choose_password(visitor, link_in(outbox()[0]), NEW).status_code == 302
    assert not signed_in(browser) and not signed_in(reopened)


def test_deactivation_ends_every_session_and_reactivation_lets_them_sign_in(
    app: Flask, admin_client, make_user
) -> None:
    ops_id = make_user("leaver@shop.example", Role.OPS)
    browser, reopened = remembered(app, "leaver@shop.example")
    token = csrf_token(admin_client, "/admin/staff")
    response = admin_client.post(f"/admin/staff/{ops_id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Deactivated" in admin_client.get("/admin/staff").get_data(as_text=True)
    assert not signed_in(browser) and not signed_in(reopened)
    assert login(app.test_client(), "leaver@shop.example").status_code == 401
    admin_client.post(f"/admin/staff/{ops_id}/reactivate", data={"csrf_token": token})
    assert login(app.test_client(), "leaver@shop.example").status_code == 302
    assert not signed_in(reopened)  # the old cookie stays dead


def test_an_admin_cannot_deactivate_themselves_nor_a_distributor(
    app: Flask, admin_client, make_distributor
) -> None:
    with app.app_context():
        admin_id = db.session.scalar(db.select(User.id).where(User.role == Role.ADMIN))
    token = csrf_token(admin_client, "/admin/staff")
    own = admin_client.post(
        f"/admin/staff/{admin_id}/deactivate", data={"csrf_token": token}, follow_redirects=True
    )
    assert "You cannot deactivate your own account." in own.get_data(as_text=True)
    assert signed_in(admin_client)
    make_distributor("d@shop.example")
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == "d@shop.example"))
    response = admin_client.post(f"/admin/staff/{user_id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 404


def test_the_old_fixed_remember_token_is_refused(app: Flask, make_user) -> None:
    """Before session versions the cookie was ``<id>|HMAC(id)``, the same forever."""
    user_id = make_user("old@shop.example", Role.OPS)
    client = app.test_client()
    with app.test_request_context():
        client.set_cookie("remember_token", encode_cookie(str(user_id)))
    assert not signed_in(client)


def test_remember_cookie_is_lax_httponly_and_secure_over_https(app: Flask, make_user) -> None:
    make_user("cookie@shop.example", Role.OPS)
    for scheme, secure in (("http", False), ("https", True)):
        client = app.test_client()
        base = f"{scheme}://localhost"
        token = csrf_token(client)
        response = client.post(
            "/login",
            base_url=base,
            headers={"Referer": f"{base}/login"},  # Flask-WTF checks it over HTTPS
            data={
                "email": "cookie@shop.example",
                "password": PASSWORD,
                "remember": "y",
                "csrf_token": token,
            },
        )
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
        for name in ("remember_token", "session"):
            attributes = cookies[name].lower()
            assert "samesite=lax" in attributes and "httponly" in attributes, cookies[name]
            assert ("; secure" in attributes) is secure, (scheme, cookies[name])
