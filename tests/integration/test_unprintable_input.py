"""NUL bytes and other control characters, over every route of the URL map: in the URL a
400 page (JSON for the API), in a form a field error; never a 500 (PostgreSQL refuses NUL
in text, so this file matters most there)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter, Rule
from wtforms.fields.core import UnboundField

from portal.accounts.models import Role, User
from portal.inputs import unprintable
from tests.helpers import PASSWORD, csrf_token, login

BAD = ["\x00", "\x1b", "\x7f", "\x85"]  # NUL, escape, DEL, a C1 control
MESSAGE = "Remove the invisible control characters"


def _rules(app: Flask, method: str) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if method in (r.methods or set())]


def _numeric(rule: Rule, arg: str) -> bool:
    return isinstance(rule._converters[arg], IntegerConverter)


def _url(rule: Rule, text: str = "X") -> str:
    values = {arg: 1 if _numeric(rule, arg) else text for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def clients(app: Flask, make_user, make_distributor) -> dict[str, FlaskClient]:
    make_user("admin@shop.example", Role.ADMIN)
    make_user("ops@shop.example", Role.OPS)
    make_distributor("dist@shop.example")
    result = {"anonymous": app.test_client()}
    for name in ("admin", "ops", "dist"):
        result[name] = app.test_client()
        assert login(result[name], f"{name}@shop.example").status_code == 302
    return result


def test_the_filter() -> None:
    assert all(unprintable(f"a{c}b") for c in BAD)
    assert not unprintable("普通文本 émoji 👍 and spaces\u00a0")
    assert unprintable("two\nlines") and not unprintable("two\r\nlines\tok", multiline=True)
    assert unprintable("nul\x00", multiline=True)


def test_every_get_route_refuses_control_characters_in_the_query(
    app: Flask, clients: dict[str, FlaskClient]
) -> None:
    rules = _rules(app, "GET")
    assert len(rules) > 40
    for rule in rules:
        for who, client in clients.items():
            for bad in ("%00", "%1B", "%C2%85"):
                response = client.get(f"{_url(rule)}?q=x{bad}y&page=1")
                label = f"{who} GET {rule.rule} {bad}"
                assert response.status_code == 400, label
                if rule.rule.startswith("/api/"):
                    assert "control characters" in response.get_json()["error"], label
                else:
                    assert "invisible control characters" in response.get_data(as_text=True), label
            assert client.get(f"{_url(rule)}?x%00=1").status_code == 400, rule.rule  # keys too


def test_control_characters_in_the_path_match_no_route(
    app: Flask, clients: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``<name>`` segment with a control character matches no rule: a 404 before any
    view could query with it."""
    monkeypatch.setitem(app.config, "WOO_STORE_URL", "https://shop.example")  # links work
    rules = [r for r in _rules(app, "GET") if any(not _numeric(r, a) for a in r.arguments)]
    assert len(rules) > 5
    for rule in rules:
        for who, client in clients.items():
            for bad in BAD:
                response = client.get(_url(rule, f"A{bad}B"))
                # The API asks for its token first (with one: test_api_lists).
                expected = 401 if rule.rule.startswith("/api/") else 404
                assert response.status_code == expected, f"{who} GET {rule.rule} {bad!r}"


def _every_field_name() -> set[str]:
    names: set[str] = set()

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            names.update(k for k, v in vars(sub).items() if isinstance(v, UnboundField))
            walk(sub)

    walk(FlaskForm)
    return names - {"csrf_token"}


def test_every_form_refuses_control_characters_without_a_500(
    app: Flask, clients: dict[str, FlaskClient]
) -> None:
    """Every POST route, as every role, with every field name any form has set to a value
    with a NUL byte: a refusal, never a server error, never a row written."""
    names = _every_field_name()
    assert {"email", "password", "display_name", "note", "amount"} <= names
    tokens = {who: csrf_token(client, "/login") for who, client in clients.items()}
    with app.app_context():
        users_before = app.extensions["sqlalchemy"].session.scalar(select(func.count(User.id)))
    signing_out = {"accounts.logout", "accounts.end_sessions"}
    rules = sorted(_rules(app, "POST"), key=lambda r: r.endpoint in signing_out)  # those last
    assert len(rules) > 30
    for rule in rules:
        if rule.rule.startswith(("/api/", "/woocommerce/webhook")):
            continue  # JSON and signed bodies: no forms
        for who, client in clients.items():
            data = {name: "bad\x00value" for name in names}
            response = client.post(_url(rule), data={**data, "csrf_token": tokens[who]})
            assert response.status_code < 500, f"{who} POST {rule.rule}"
            if rule.endpoint not in signing_out and who != "anonymous":
                assert response.status_code != 302 or not response.headers["Location"].startswith(
                    "/login"
                ), f"{who} was signed out by POST {rule.rule}"
    with app.app_context():
        from portal.extensions import db

        assert db.session.scalar(select(func.count(User.id))) == users_before


@pytest.mark.parametrize("bad", BAD)
def test_the_join_form_shows_it_on_the_field(app: Flask, client: FlaskClient, bad: str) -> None:
    token = csrf_token(client, "/join")
    response = client.post(
        "/join",
        data={
            "display_name": f"Lin{bad}",
            "email": "lin@shop.example",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "role": "affiliate",
            "note": "line one\nline two",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="display_name-error"' in html and MESSAGE in html
    assert 'id="note-error"' not in html  # newlines are fine in a textarea


def test_a_textarea_refuses_other_control_characters(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/join")
    response = client.post(
        "/join",
        data={
            "display_name": "Lin",
            "email": "lin@shop.example",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "role": "affiliate",
            "note": "ring\x07",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert 'id="note-error"' in response.get_data(as_text=True)


def test_the_login_and_search_forms_named_in_the_issue(
    app: Flask, clients: dict[str, FlaskClient]
) -> None:
    anonymous = clients["anonymous"]
    token = csrf_token(anonymous)
    response = anonymous.post(
        "/login", data={"email": "a\x00@shop.example", "password": "x", "csrf_token": token}
    )
    assert response.status_code == 400 and MESSAGE in response.get_data(as_text=True)
    for who, path in (
        ("admin", "/admin/distributors"),
        ("admin", "/admin/withdrawals"),
        ("admin", "/admin/orders"),
        ("dist", "/me/team"),
        ("dist", "/me/links/products"),
        ("dist", "/me/materials"),
    ):
        client = clients[who]
        assert client.get(f"{path}?q=abc").status_code == 200, path
        assert client.get(f"{path}?q=%00").status_code == 400, path
        partial = client.get(f"{path}?q=%00", headers={"HX-Request": "true"})
        assert partial.status_code == 400, path
