"""Every /admin and /me URL, generated from the URL map so new views are covered at once."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import Rule

from portal.accounts.models import Role
from tests.helpers import csrf_token, login


def _rules(app: Flask, prefix: str) -> list[tuple[Rule, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule != prefix and not rule.rule.startswith(prefix + "/"):
            continue  # "/me" must not pick up "/metrics"
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    assert found, f"no routes under {prefix}"
    return found


def _url(rule: Rule) -> str:
    values = {
        arg: 1 if "int" in type(rule._converters[arg]).__name__.lower() else "X"
        for arg in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]


def _request(client, rule: Rule, method: str):
    url = _url(rule)
    if method == "GET":
        return client.get(url)
    token = csrf_token(client, "/login")
    return client.open(url, method=method, data={"csrf_token": token})


@pytest.fixture
def clients(app: Flask, make_user, make_distributor) -> dict[str, object]:
    make_user("admin@shop.example", Role.ADMIN)
    make_user("ops@shop.example", Role.OPS)
    make_distributor("dist@shop.example")
    result = {"anonymous": app.test_client()}
    for name, email in (
        ("admin", "admin@shop.example"),
        ("ops", "ops@shop.example"),
        ("distributor", "dist@shop.example"),
    ):
        result[name] = app.test_client()
        assert login(result[name], email).status_code == 302
    return result


def test_admin_urls_by_role(app: Flask, clients) -> None:
    checked = 0
    for rule, method in _rules(app, "/admin"):
        label = f"{method} {rule.rule}"
        anon = _request(clients["anonymous"], rule, method)
        assert anon.status_code == 302, label
        assert anon.headers["Location"].startswith("/login"), label
        assert _request(clients["distributor"], rule, method).status_code == 403, label
        ops = _request(clients["ops"], rule, method).status_code
        admin = _request(clients["admin"], rule, method).status_code
        required = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if required is not None and Role.OPS not in required:
            assert ops == 403, label
        else:
            assert ops not in (401, 403), label
        assert admin not in (401, 403), label
        assert 500 not in (ops, admin), label
        checked += 1
    assert checked >= 6
    admin_only = [
        r
        for r, _ in _rules(app, "/admin")
        if getattr(app.view_functions[r.endpoint], "required_roles", None)
    ]
    reserved = {r.endpoint for r in admin_only}
    # The README reserves these for admins: settings, API tokens and the audit log.
    assert {"admin_settings.edit", "admin_tokens.index", "admin_audit.index"} <= reserved
    staff_pages = {r.endpoint for r in admin_only if r.endpoint.startswith("admin_staff.")}
    assert staff_pages == {
        "admin_staff.index",
        "admin_staff.invite",
        "admin_staff.deactivate",
        "admin_staff.reactivate",
    }


def test_ops_are_refused_the_audit_log_and_admins_read_it(clients) -> None:
    assert clients["ops"].get("/admin/audit").status_code == 403
    assert clients["ops"].get("/admin/audit", headers={"HX-Request": "true"}).status_code == 403
    assert clients["admin"].get("/admin/audit").status_code == 200


def test_account_urls_by_role(app: Flask, clients) -> None:
    """``/account/…`` is for any signed-in user; the links from emails (reset, invitation,
    unlock) and the reset request are public, and a made-up link is a 404 for everyone."""
    expected = {
        ("accounts.change_password", "GET"): 200,
        ("accounts.change_password", "POST"): 400,  # posted empty
        ("accounts.end_sessions", "POST"): 302,  # signed out: checked last
    }
    account = sorted(
        _rules(app, "/account"), key=lambda rm: rm[0].endpoint == "accounts.end_sessions"
    )
    assert {(r.endpoint, m) for r, m in account} == set(expected)
    for rule, method in account:
        label = f"{method} {rule.rule}"
        anon = _request(clients["anonymous"], rule, method)
        assert anon.status_code == 302 and anon.headers["Location"].startswith("/login"), label
        for who in ("admin", "ops", "distributor"):
            status = _request(clients[who], rule, method).status_code
            assert status == expected[(rule.endpoint, method)], f"{who} {label}"
    public = [
        *_rules(app, "/password"),
        *_rules(app, "/welcome"),
        *[(r, m) for r, m in _rules(app, "/login") if r.arguments],
    ]
    assert {r.endpoint for r, _ in public} == {
        "accounts.forgot",
        "accounts.reset",
        "accounts.welcome",
        "accounts.unlock",
    }
    for rule, method in public:
        for who, client in clients.items():  # all signed out by now: these are public
            status = _request(client, rule, method).status_code
            expected = (404,) if rule.arguments else (200, 400)
            assert status in expected, f"{who} {method} {rule.rule}: {status}"


def test_me_urls_by_role(app: Flask, clients) -> None:
    for rule, method in _rules(app, "/me"):
        label = f"{method} {rule.rule}"
        anon = _request(clients["anonymous"], rule, method)
        assert anon.status_code == 302 and anon.headers["Location"].startswith("/login"), label
        assert _request(clients["admin"], rule, method).status_code == 403, label
        assert _request(clients["ops"], rule, method).status_code == 403, label
        own = _request(clients["distributor"], rule, method).status_code
        # Made-up ids name nobody's object (404); forms posted empty are refused (400).
        if method == "GET":
            assert own == (404 if rule.arguments else 200), label
        else:
            # 302: a form with no fields did its job; 204: a beacon (the copy button's).
            assert own in (204, 302, 400, 404), label
