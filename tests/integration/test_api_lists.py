"""The API's lists (distributors, commissions, withdrawals) with cursor pages, its OpenAPI
document, its errors — and the admin page that issues and revokes tokens."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.api import services as api
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.extensions import db
from portal.withdrawals.models import PayoutMethod
from tests.helpers import csrf_token
from tests.money import HX, T0, add_account, configure, decide, earn, request, signed_in


@pytest.fixture
def auth(app: Flask) -> dict[str, str]:
    with app.app_context():
        token = api.create_token("tests")
        db.session.commit()  # as the tokens page's request would
        return {"Authorization": f"Bearer {token}"}


def _get(client: FlaskClient, auth: dict[str, str], url: str, status: int = 200) -> Any:
    response = client.get(url, headers=auth)
    assert response.status_code == status, (url, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    return response.json


def _all(client: FlaskClient, auth: dict[str, str], url: str) -> list[dict[str, Any]]:
    """Every item of a list, following ``next_cursor`` one item at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    separator = "&" if "?" in url else "?"
    while True:
        page = _get(
            client, auth, url + separator + "limit=1" + (f"&cursor={cursor}" if cursor else "")
        )
        items += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(page["data"]) == 1


# --- the document ---------------------------------------------------------------------


def test_openapi_is_public_and_documents_every_route(app: Flask, client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.not_found"
    }
    assert routes == set(doc["paths"])
    for path, item in doc["paths"].items():
        operation = item["get"]
        if path.endswith("openapi.json"):
            assert operation["security"] == []
        else:
            assert "401" in operation["responses"], path
        refs = re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', str(operation).replace("'", '"'))
        for kind, name in refs:
            assert name in doc["components"][kind], (path, name)


def test_unknown_api_urls_and_odd_ids_answer_json(client, auth) -> None:
    assert _get(client, auth, "/api/v1/nothing/here", 404) == {"error": "no such endpoint"}
    # A control character in the path matches no route (portal.inputs).
    assert _get(client, auth, "/api/v1/orders/%00", 404) == {"error": "no such endpoint"}
    assert _get(client, auth, "/api/v1/distributors/%00/balances", 404)["error"]
    assert client.get("/api/v1/distributors").status_code == 401  # lists need a token too


# --- distributors ---------------------------------------------------------------------


def test_distributors_list_without_emails(app: Flask, client, auth, make_distributor) -> None:
    parent, parent_code = make_distributor("parent@shop.example", name="Ann <Lead>")
    child, child_code = make_distributor("child@shop.example", parent_id=parent)
    _, applied_code = make_distributor("applied@shop.example", status=DistributorStatus.APPLIED)
    with app.app_context():
        gold = Level(name="Gold", rank=2)
        db.session.add(gold)
        row = db.session.get(Distributor, child)
        row.level = gold
        row.role = DistributorRole.AGENT
        db.session.commit()

    body = _get(client, auth, "/api/v1/distributors")
    assert body["next_cursor"] is None
    by_code = {d["code"]: d for d in body["data"]}
    assert list(by_code) == [parent_code, child_code, applied_code]  # id order
    assert by_code[child_code] == {
        "code": child_code,
        "display_name": "Test Distributor",
        "status": "active",
        "role": "agent",
        "level": {"name": "Gold", "rank": 2},
        "parent_code": parent_code,
        "joined_at": by_code[child_code]["joined_at"],
    }
    assert by_code[parent_code]["display_name"] == "Ann <Lead>"
    assert by_code[applied_code]["joined_at"] is None and by_code[parent_code]["level"] is None
    text = client.get("/api/v1/distributors", headers=auth).get_data(as_text=True)
    assert "@shop.example" not in text and "email" not in text

    assert [d["code"] for d in _all(client, auth, "/api/v1/distributors")] == list(by_code)
    only = _get(client, auth, "/api/v1/distributors?status=applied")["data"]
    assert [d["code"] for d in only] == [applied_code]
    agents = _get(client, auth, "/api/v1/distributors?role=agent&status=active")["data"]
    assert [d["code"] for d in agents] == [child_code]

    first = _get(client, auth, "/api/v1/distributors?limit=2")
    assert len(first["data"]) == 2
    # The cursor is base64 of the last id: opaque to clients, readable to us.
    cursor = first["next_cursor"]
    with app.app_context():
        last_id = db.session.scalar(select(Distributor.id).where(Distributor.code == child_code))
    assert base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) == str(last_id).encode()


# --- commissions ----------------------------------------------------------------------


def test_commissions_list_with_filters(app: Flask, client, auth, plan, make_distributor) -> None:
    one, one_code = make_distributor("one@shop.example")
    two, two_code = make_distributor("two@shop.example")
    earn(app, one, "10.00", "1001", completed_at=T0)
    earn(app, two, "5.50", "1002", completed_at=T0 + timedelta(days=3))
    earn(app, one, "7.25", "1003", completed_at=T0 + timedelta(days=55))  # still holding

    rows = _get(client, auth, "/api/v1/commissions")["data"]
    assert [(c["shop_order_id"], c["beneficiary_code"], c["amount"]) for c in rows] == [
        ("1001", one_code, "10.00"),
        ("1002", two_code, "5.50"),
        ("1003", one_code, "7.25"),
    ]
    first = rows[0]
    assert first["state"] == "available" and first["depth"] == 1
    assert first["seller_code"] == one_code and first["currency"] == "USD"
    assert first["order_created_at"].startswith("2026-11-01T10:00:00")
    assert set(first) >= {"id", "order_number", "created_at", "updated_at"}

    mine = _get(client, auth, f"/api/v1/commissions?distributor={one_code.lower()}")["data"]
    assert [c["shop_order_id"] for c in mine] == ["1001", "1003"]
    available = _get(client, auth, "/api/v1/commissions?state=available")["data"]
    assert [c["shop_order_id"] for c in available] == ["1001", "1002"]
    since = _get(client, auth, "/api/v1/commissions?since=2026-11-04")["data"]
    assert [c["shop_order_id"] for c in since] == ["1002", "1003"]
    since = _get(client, auth, "/api/v1/commissions?since=2026-11-04T10:00:01%2B00:00")["data"]
    assert [c["shop_order_id"] for c in since] == ["1003"]
    both = f"/api/v1/commissions?distributor={one_code}&state=holding"
    assert [c["shop_order_id"] for c in _get(client, auth, both)["data"]] == ["1003"]
    assert [c["id"] for c in _all(client, auth, "/api/v1/commissions")] == [c["id"] for c in rows]


def test_money_has_the_currency_digits(
    app: Flask, client, auth, plan, make_user, make_distributor
) -> None:
    admin = make_user("admin@shop.example")
    configure(app, admin, currency="JPY")
    seller, code = make_distributor("seller@shop.example")
    earn(app, seller, "500", "2001", currency="JPY")
    row = _get(client, auth, "/api/v1/commissions")["data"][0]
    assert (row["currency"], row["amount"]) == ("JPY", "500")
    balances = _get(client, auth, f"/api/v1/distributors/{code}/balances")
    assert balances["currency"] == "JPY" and balances["balances"]["available"] == "500"


# --- withdrawals ----------------------------------------------------------------------


def test_withdrawals_list_masks_the_payout_account(
    app: Flask, client, auth, seller, ops, make_distributor
) -> None:
    iban = "DE89370400440532013000"
    bank = add_account(app, seller, PayoutMethod.BANK, iban, "Deutsche Bank")
    first = request(app, seller, "20", bank)
    decide(app, ops, first, "approve")
    decide(app, ops, first, "pay", "REF-77")
    second = request(app, seller, "10", bank)
    _, other_code = make_distributor("other@shop.example")

    rows = _get(client, auth, "/api/v1/withdrawals")["data"]
    text = client.get("/api/v1/withdrawals", headers=auth).get_data(as_text=True)
    assert iban not in text and "Jane Doe" not in text
    assert [r["id"] for r in rows] == [first, second]
    paid = rows[0]
    assert paid["state"] == "paid" and paid["reference"] == "REF-77"
    assert (paid["amount"], paid["currency"]) == ("20.00", "USD")
    assert D(paid["amount"]) == D(paid["fee"]) + D(paid["net"])
    assert paid["payout_method"] == "bank"
    assert (
        paid["payout_account"].endswith("•••• 3000") and "Deutsche Bank" in paid["payout_account"]
    )
    assert paid["paid_at"] and paid["decided_at"] and paid["requested_at"]
    assert rows[1]["state"] == "requested" and rows[1]["paid_at"] is None

    requested = _get(client, auth, "/api/v1/withdrawals?state=requested")["data"]
    assert [r["id"] for r in requested] == [second]
    with app.app_context():
        seller_code = db.session.get(Distributor, seller).code
    assert len(_get(client, auth, f"/api/v1/withdrawals?distributor={seller_code}")["data"]) == 2
    assert _get(client, auth, f"/api/v1/withdrawals?distributor={other_code}")["data"] == []


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/distributors?limit=0",
        "/api/v1/distributors?limit=101",
        "/api/v1/distributors?limit=ten",
        "/api/v1/distributors?limit=%EF%BC%95",  # a full-width digit
        "/api/v1/distributors?cursor=%21%21",
        "/api/v1/distributors?cursor=YWJj",  # base64 of "abc"
        "/api/v1/distributors?cursor=" + "A" * 40,
        "/api/v1/distributors?status=gone",
        "/api/v1/distributors?role=%00",
        "/api/v1/commissions?state=maybe",
        "/api/v1/commissions?distributor=ZZZZZZ",
        "/api/v1/commissions?distributor=%3Cscript%3E",
        "/api/v1/commissions?since=last%20week",
        "/api/v1/commissions?since=0001-01-01T00:00:00%2B01:00",
        "/api/v1/withdrawals?state=paid%00",
        "/api/v1/withdrawals?distributor=ab",
    ],
)
def test_bad_query_parameters_are_a_400_with_a_message(client, auth, query: str) -> None:
    body = _get(client, auth, query, 400)
    assert list(body) == ["error"] and body["error"]


# --- tokens in the admin --------------------------------------------------------------

TOKEN_RE = re.compile(r'value="(pt_[A-Za-z0-9_-]+)"')


def _create(client: FlaskClient, name: str, **kwargs: Any) -> Any:
    token = csrf_token(client, "/admin/tokens")
    return client.post("/admin/tokens", data={"name": name, "csrf_token": token}, **kwargs)


def test_admins_create_a_token_shown_once_and_audited(app: Flask, admin_client) -> None:
    response = _create(admin_client, "  Reporting <script>  ")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = TOKEN_RE.search(html).group(1)
    assert "Reporting &lt;script&gt;" in html and "<script>" not in html
    assert 'data-copy="new-token"' in html

    used = admin_client.get("/api/v1/distributors", headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 200
    listing = admin_client.get("/admin/tokens").get_data(as_text=True)
    assert token not in listing and token[:10] + "…" in listing
    assert "Never" not in listing  # it was used just now

    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.create"))
        admin = db.session.scalar(select(User).where(User.email == "admin@shop.example"))
        assert row.name == "Reporting <script>"
        assert (entry.actor_id, entry.target_id, entry.after) == (
            admin.id,
            str(row.id),
            {"name": "Reporting <script>"},
        )
        assert token not in str(entry.after) and entry.ip == "127.0.0.1"


def test_creating_with_htmx_swaps_the_form_and_the_list(admin_client) -> None:
    response = _create(admin_client, "Shop", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="token-form"')
    assert '<div id="tokens" hx-swap-oob="true">' in html and "Shop" in html
    refused = _create(admin_client, "   ", headers=HX)
    assert refused.status_code == 400
    assert 'id="name-error"' in refused.get_data(as_text=True)
    assert _create(admin_client, "x" * 81).status_code == 400


def test_revoking_stops_the_token_once(app: Flask, admin_client) -> None:
    with app.app_context():
        token = api.create_token("old script")
        db.session.commit()
        token_id = db.session.scalar(select(ApiToken.id))
    auth = {"Authorization": f"Bearer {token}"}
    assert admin_client.get("/api/v1/withdrawals", headers=auth).status_code == 200
    csrf = csrf_token(admin_client, "/admin/tokens")
    url = f"/admin/tokens/{token_id}/revoke"

    row = admin_client.post(url, data={"csrf_token": csrf}, headers=HX)
    html = row.get_data(as_text=True)
    assert row.status_code == 200 and html.lstrip().startswith(f'<tr id="token-{token_id}">')
    assert "Revoked" in html and "hx-post" not in html
    assert admin_client.get("/api/v1/withdrawals", headers=auth).status_code == 401

    again = admin_client.post(url, data={"csrf_token": csrf})
    assert again.status_code == 302 and again.headers["Location"] == "/admin/tokens"
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "api_token.revoke")
        ).all()
        assert [(e.target_id, e.before["revoked"], e.after["revoked"]) for e in entries] == [
            (str(token_id), False, True)
        ]
        cli_entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "api_token.create")
        )
        assert cli_entry.actor_id is None  # made outside a session: the command line
    assert (
        admin_client.post("/admin/tokens/999/revoke", data={"csrf_token": csrf}).status_code == 404
    )


def test_tokens_are_for_admins_only_and_need_csrf(app: Flask, admin_client, make_user) -> None:
    make_user("ops@shop.example", Role.OPS)
    with app.app_context():
        api.create_token("shop")
        db.session.commit()
        token_id = db.session.scalar(select(ApiToken.id))
    ops = signed_in(app, "ops@shop.example")
    csrf = csrf_token(ops, "/admin/")
    assert ops.get("/admin/tokens").status_code == 403
    assert ops.post("/admin/tokens", data={"name": "mine", "csrf_token": csrf}).status_code == 403
    revoke = f"/admin/tokens/{token_id}/revoke"
    assert ops.post(revoke, data={"csrf_token": csrf}).status_code == 403
    assert 'href="/admin/tokens"' not in ops.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/tokens"' in admin_client.get("/admin/").get_data(as_text=True)

    assert admin_client.post("/admin/tokens", data={"name": "no csrf"}).status_code == 400
    assert admin_client.post(revoke).status_code == 400
    with app.app_context():
        assert [t.name for t in db.session.scalars(select(ApiToken))] == ["shop"]
        assert db.session.get(ApiToken, token_id).revoked_at is None
