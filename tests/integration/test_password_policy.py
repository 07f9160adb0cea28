"""The password policy, wherever a password is chosen: sign-up, password change, reset,
invitation, ``portal create-admin``."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.accounts import passwords
from portal.cli import cli
from tests.helpers import PASSWORD, choose_password, csrf_token, link_in, login

COMMON = "Password123"  # in every leaked-password top list, whatever the case
COMMON_MESSAGE = "one of the most common ones"
PERSONAL_MESSAGE = "your email, your name or the shop"


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "at least 8"),
        ("x" * 257, "at most 256"),
        ("password", COMMON_MESSAGE),
        ("QWERTYUIOP", COMMON_MESSAGE),
        ("iloveyou", COMMON_MESSAGE),
        ("lin.xiaoyu@shop.example", PERSONAL_MESSAGE),
        ("LIN.XIAOYU", PERSONAL_MESSAGE),  # the email's local part
        ("Lin Xiaoyu", PERSONAL_MESSAGE),  # the name, spaces and case ignored
        ("bestshopever", PERSONAL_MESSAGE),  # the shop's host name
        ("bestshopever.example", PERSONAL_MESSAGE),
        (PASSWORD, None),
        ("correct horse battery staple", None),
    ],
)
def test_the_policy(
    app: Flask, monkeypatch: pytest.MonkeyPatch, password: str, expected: str | None
) -> None:
    monkeypatch.setitem(app.config, "WOO_STORE_URL", "https://www.bestshopever.example/")
    with app.test_request_context():
        problem = passwords.problem(password, "lin.xiaoyu@shop.example", ["Lin Xiaoyu"])
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem, problem


def test_the_common_list_is_the_shipped_one() -> None:
    assert len(passwords._common()) >= 10_000


def _field_error(response, field: str, message: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and message in html, html[-2000:]


def test_join_refuses_a_common_password_and_the_own_email(app: Flask, client) -> None:
    def join(password: str):
        return client.post(
            "/join",
            data={
                "display_name": "Lin Xiaoyu",
                "email": "lin.xiaoyu@shop.example",
                "password": password,
                "confirm": password,
                "role": "affiliate",
                "csrf_token": csrf_token(client, "/join"),
            },
        )

    _field_error(join(COMMON), "password", COMMON_MESSAGE)
    _field_error(join("lin.xiaoyu@shop.example"), "password", PERSONAL_MESSAGE)
    _field_error(join("Lin Xiaoyu"), "password", PERSONAL_MESSAGE)
    assert join(PASSWORD).status_code == 302


def test_password_change_applies_the_policy(app: Flask, client, make_user) -> None:
    make_user("change@shop.example")
    login(client, "change@shop.example")
    token = csrf_token(client, "/account/password")
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": COMMON,
            "confirm": COMMON,
            "csrf_token": token,
        },
    )
    _field_error(response, "new_password", COMMON_MESSAGE)


def test_reset_and_invitation_apply_the_policy(app: Flask, admin_client, outbox) -> None:
    token = csrf_token(admin_client, "/admin/staff")
    admin_client.post(
        "/admin/staff", data={"email": "invited@shop.example", "role": "ops", "csrf_token": token}
    )
    person = app.test_client()
    invitation = link_in(outbox()[0])
    _field_error(choose_password(person, invitation, COMMON), "password", COMMON_MESSAGE)
    _field_error(
        choose_password(person, invitation, "invited@shop.example"), "password", PERSONAL_MESSAGE
    )
    assert person.get(invitation).status_code == 200  # a refused password does not use it up
    token = csrf_token(person, "/password/forgot")
    person.post("/password/forgot", data={"email": "admin@shop.example", "csrf_token": token})
    _field_error(choose_password(person, link_in(outbox()[-1]), COMMON), "password", COMMON_MESSAGE)


def test_create_admin_applies_the_policy(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        cli, ["create-admin", "root@shop.example", "--role", "admin", "--password", COMMON]
    )
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: root@shop.example:") and COMMON_MESSAGE in line
    ok = app.test_cli_runner().invoke(
        cli, ["create-admin", "root@shop.example", "--password", PASSWORD]
    )
    assert ok.exit_code == 0, ok.output
    assert login(app.test_client(), "root@shop.example").status_code == 302
