"""The read-only JSON API with bearer tokens."""

from __future__ import annotations

from flask import Flask

from portal.cli import cli
from tests.woo import deliver, woo_order


def token(app: Flask, name: str = "shop") -> str:
    result = app.test_cli_runner().invoke(cli, ["api-token", "create", name])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_tokens_are_required(app: Flask, client) -> None:
    for url in ("/api/v1/orders/1", "/api/v1/distributors/ABCDEF/balances"):
        response = client.get(url)
        assert response.status_code == 401 and response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get(url, headers={"Authorization": "Bearer pt_nope"}).status_code == 401
    bad = app.test_cli_runner().invoke(cli, ["api-token", "create", " "])
    assert bad.exit_code == 1 and bad.output.startswith("Error: a token name")


def test_order_and_balances(shop: Flask, client, make_distributor) -> None:
    parent, parent_code = make_distributor("parent@shop.example")
    _, code = make_distributor("seller@shop.example", parent_id=parent)
    deliver(client, "order.created", woo_order(coupons=[code]))
    auth = {"Authorization": f"Bearer {token(shop)}"}
    order = client.get("/api/v1/orders/727", headers=auth)
    assert order.status_code == 200
    body = order.json
    assert body["attribution"]["method"] == "coupon"
    assert body["attribution"]["distributor_code"] == code
    assert body["commissions"] == [
        {"beneficiary_code": code, "depth": 1, "amount": "10.00", "state": "pending"},
        {"beneficiary_code": parent_code, "depth": 2, "amount": "5.00", "state": "pending"},
    ]
    balances = client.get(f"/api/v1/distributors/{code.lower()}/balances", headers=auth).json
    assert balances["balances"]["pending"] == "10.00" and balances["balances"]["paid"] == "0.00"
    assert client.get("/api/v1/orders/999", headers=auth).status_code == 404
    assert client.get("/api/v1/distributors/ZZZZZZ/balances", headers=auth).status_code == 404
