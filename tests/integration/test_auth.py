from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from portal.accounts import services, throttle
from portal.accounts.models import LoginFailure, Role, User
from portal.extensions import db
from portal.timeutil import utcnow
from tests.helpers import PASSWORD, csrf_token, login


def failures(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(LoginFailure.id)))


def test_passwords_are_hashed(app: Flask, make_user) -> None:
    user_id = make_user("hash@shop.example")
    with app.app_context():
        user = db.session.get(User, user_id)
        assert PASSWORD not in user.password_hash
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_login_and_logout(client, make_user) -> None:
    make_user("ops@shop.example", Role.OPS)
    response = login(client, "OPS@shop.example ")  # case and spaces do not matter
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    token = csrf_token(client, "/admin/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_password_shows_an_error_and_is_recorded(app, client, make_user) -> None:
    make_user("a@shop.example")
    response = login(client, "a@shop.example", "wrong-password")
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert failures(app) == 1


def test_unknown_email_looks_like_a_wrong_password(client) -> None:
    response = login(client, "nobody@shop.example", "whatever-pass")
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.get_data(as_text=True)


def test_invalid_login_form_gets_field_errors(client) -> None:
    token = csrf_token(client)
    response = client.post("/login", data={"email": "not-an-email", "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert "email-error" in html and "password-error" in html


def test_throttle_per_account_and_address_refuses_even_the_right_password(
    app, client, make_user
) -> None:
    make_user("victim@shop.example")
    free = app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"]
    for _ in range(free):
        assert (
            login(client, "victim@shop.example", "guess", REMOTE_ADDR="10.0.0.1").status_code == 401
        )
    response = login(client, "victim@shop.example", PASSWORD, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still signed out
    assert failures(app) == free  # a refused attempt is not another guess


def test_someone_elses_failures_from_elsewhere_never_lock_the_owner_out(
    app, client, make_user
) -> None:
    make_user("admin@shop.example")
    free = app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"]
    for i in range(free * 4):  # an attacker rotating addresses
        login(client, "admin@shop.example", "guess", REMOTE_ADDR=f"10.0.{i // 200}.{i % 200}")
    owner = app.test_client()
    assert login(owner, "admin@shop.example", PASSWORD, REMOTE_ADDR="192.0.2.50").status_code == 302
    assert owner.get("/admin/").status_code == 200


def test_throttle_per_address(app, client, make_user) -> None:
    make_user("someone@shop.example")
    free = app.config["PORTAL_LOGIN_FREE_FAILURES_PER_IP"]
    for i in range(free):
        login(client, f"spray{i}@shop.example", "guess", REMOTE_ADDR="192.0.2.7")
    blocked = login(client, "someone@shop.example", PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert blocked.status_code == 429
    elsewhere = login(client, "someone@shop.example", PASSWORD, REMOTE_ADDR="192.0.2.8")
    assert elsewhere.status_code == 302


def _fail(email: str, ip_hash: str, ago: timedelta, n: int = 1) -> None:
    for _ in range(n):
        db.session.add(LoginFailure(email=email, ip_hash=ip_hash, created_at=utcnow() - ago))
    db.session.commit()


def test_the_wait_grows_with_each_failure_up_to_a_ceiling(app) -> None:
    policy = throttle.ThrottlePolicy(
        free_per_account=3,
        free_per_ip=100,
        first_delay=timedelta(seconds=30),
        max_delay=timedelta(minutes=10),
        memory=timedelta(days=1),
    )
    assert [policy.delay(n, 3) for n in (0, 2)] == [None, None]
    assert [policy.delay(n, 3).total_seconds() for n in (3, 4, 5, 6, 7, 100, 10**6)] == [
        30,
        60,
        120,
        240,
        480,
        600,
        600,
    ]
    with app.test_request_context():
        _fail("later@shop.example", "h", timedelta(seconds=40), n=3)
        assert throttle.login_wait("later@shop.example", "h", policy) is None  # 30 s passed
        _fail("later@shop.example", "h", timedelta(seconds=40))
        wait = throttle.login_wait("later@shop.example", "h", policy)
        assert timedelta(seconds=15) < wait <= timedelta(seconds=20)  # 60 s after the 4th
        assert throttle.login_wait("later@shop.example", "other", policy) is None
        assert throttle.login_wait("other@shop.example", "h", policy) is None


def test_failures_past_the_memory_are_forgotten(app) -> None:
    policy = throttle.ThrottlePolicy(
        2, 100, timedelta(hours=1), timedelta(hours=1), timedelta(hours=2)
    )
    with app.test_request_context():
        _fail("old@shop.example", "h", timedelta(hours=3), n=5)
        assert throttle.login_wait("old@shop.example", "h", policy) is None
        _fail("old@shop.example", "h", timedelta(minutes=1), n=2)
        assert throttle.login_wait("old@shop.example", "h", policy) is not None


def test_success_clears_the_account_counter_from_that_address(app, client, make_user) -> None:
    make_user("b@shop.example")
    login(client, "b@shop.example", "guess", REMOTE_ADDR="198.51.100.9")
    for _ in range(app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"] - 1):
        login(client, "b@shop.example", "guess")
    assert login(client, "b@shop.example").status_code == 302
    assert failures(app) == 1  # the other address's failure stays


def test_ip_is_stored_hashed(app, client) -> None:
    login(client, "c@shop.example", "guess", REMOTE_ADDR="203.0.113.9")
    with app.app_context():
        row = db.session.scalars(select(LoginFailure)).one()
        assert "203.0.113.9" not in row.ip_hash and len(row.ip_hash) == 64


def test_post_without_csrf_token_is_rejected(app, client, make_user) -> None:
    make_user("d@shop.example")
    response = client.post("/login", data={"email": "d@shop.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    bad = client.post(
        "/login", data={"email": "d@shop.example", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert bad.status_code == 400


def test_next_only_follows_local_paths(client, make_user) -> None:
    make_user("e@shop.example")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        token = csrf_token(client)
        response = client.post(
            "/login?next=" + evil,
            data={"email": "e@shop.example", "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]
        client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    token = csrf_token(client)
    response = client.post(
        "/login?next=/admin/settings",
        data={"email": "e@shop.example", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/settings"


def test_password_change(app, client, make_user) -> None:
    make_user("f@shop.example")
    login(client, "f@shop.example")
    token = csrf_token(client, "/account/password")

    def change(current: str, new: str, confirm: str):
        return client.post(
            "/account/password",
            data={
                "current_password": current,
                "new_password": new,
                "confirm": confirm,
                "csrf_token": token,
            },
        )

    wrong = change("nope", "brand-new-pass", "brand-new-pass")
    assert wrong.status_code == 400
    assert "Current password is incorrect." in wrong.get_data(as_text=True)
    mismatch = change(PASSWORD, "brand-new-pass", "different-pass")
    assert mismatch.status_code == 400
    assert "Passwords do not match." in mismatch.get_data(as_text=True)
    assert change(PASSWORD, "brand-new-pass", "brand-new-pass").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/password")})
    assert login(client, "f@shop.example").status_code == 401
    assert login(client, "f@shop.example", "brand-new-pass").status_code == 302


def test_inactive_user_cannot_sign_in(app, client, make_user) -> None:
    user_id = make_user("g@shop.example")
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert login(client, "g@shop.example").status_code == 401


def test_purge_removes_only_old_failures(app) -> None:
    with app.app_context():
        db.session.add(
            LoginFailure(email="x", ip_hash="y", created_at=utcnow() - timedelta(days=2))
        )
        db.session.add(LoginFailure(email="x", ip_hash="y"))
        db.session.commit()
        assert services.purge_old_login_failures() == 1
        assert db.session.scalar(select(func.count(LoginFailure.id))) == 1


def test_behind_a_proxy_throttling_counts_the_forwarded_client(app_config, make_user) -> None:
    from portal import create_app

    proxied = create_app({**app_config, "PORTAL_PROXY_COUNT": 1})
    make_user("h@shop.example")
    client = proxied.test_client()
    limit = proxied.config["PORTAL_LOGIN_FREE_FAILURES_PER_IP"]
    for i in range(limit):  # one attacker, many accounts, all through the same proxy
        login(
            client,
            f"x{i}@shop.example",
            "guess",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="198.51.100.66",
        )
    blocked = login(
        client,
        "h@shop.example",
        PASSWORD,
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.66",
    )
    assert blocked.status_code == 429
    other_client = login(
        proxied.test_client(),
        "h@shop.example",
        PASSWORD,
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert other_client.status_code == 302  # same proxy, different person: not locked out


def test_htmx_requests_without_a_session_send_the_page_to_login(client) -> None:
    polled = client.get("/me/withdrawals", headers={"HX-Request": "true"})
    assert polled.status_code == 401
    assert polled.headers["HX-Redirect"] == "/login?next=%2Fme%2Fwithdrawals"
    plain = client.get("/me/withdrawals")
    assert plain.status_code == 302 and plain.headers["Location"].startswith("/login?next=")
