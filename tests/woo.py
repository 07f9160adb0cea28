"""Test helpers for the WooCommerce bridge: order payloads, signed deliveries, and a real
HTTP server on loopback speaking the WooCommerce REST v3 subset the portal uses:
orders and products with pagination headers, ``modified_after``, Basic auth, and a 429
on demand. Not a mock of the client: the portal's httpx client talks to it over TCP."""

from __future__ import annotations

import base64
import bisect
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugins.woocommerce_bridge.signatures import sign
from portal.commissions.models import Commission
from portal.extensions import db
from portal.orders import services as orders

KEY, API_SECRET = "ck_test", "cs_test"
SECRET = "wh-secret-123"  # the webhook secret


@dataclass(frozen=True)
class LazyOrders:
    """``count`` orders made on demand: ``make(n)`` for n = 1..count, modified in n order.

    A shop of any size without holding it in memory (the sync bench serves 100,000)."""

    count: int
    make: Callable[[int], dict[str, Any]]
    _latest: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False)

    def latest(self) -> dict[int, dict[str, Any]]:
        """The latest copy of each order, by id (made once, then kept)."""
        if not self._latest:
            for n in range(1, self.count + 1):
                copy = self.make(n)
                self._latest[copy["id"]] = copy
        return self._latest

    def page(self, after: str | None, page: int, per_page: int) -> tuple[list[dict], int]:
        """One page of the orders modified after ``after``, and how many there are."""
        first = 1
        if after:
            numbers = range(1, self.count + 1)
            first += bisect.bisect_right(
                numbers, after, key=lambda n: self.make(n)["date_modified_gmt"]
            )
        total = self.count - first + 1
        start = first + (page - 1) * per_page
        stop = min(start + per_page, self.count + 1)
        return [self.make(n) for n in range(start, stop)], total


@dataclass
class FakeShop:
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)
    # GET /orders/<id>/refunds answers, as a real shop gives them (see the recordings'
    # refunds-*.json); an order's refunds missing here are answered amount-only.
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refunds_endpoint: bool = True  # GET /refunds: WooCommerce 9.0 and later
    throttle_next: int = 0  # answer this many requests with 429 first
    requests: list[str] = field(default_factory=list)
    lazy_orders: LazyOrders | None = None  # served instead of ``orders`` when set

    def _authorised(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{KEY}:{API_SECRET}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def _order(self, order_id: int) -> dict[str, Any] | None:
        if self.lazy_orders is None:
            return self.orders.get(order_id)
        return self.lazy_orders.latest().get(order_id)

    def _order_refunds(self, order_id: int, order: dict[str, Any]) -> list[dict[str, Any]]:
        listed = self.refunds.get(order_id)
        if listed is None:  # amount-only refunds, as entered without lines
            listed = [
                {
                    "id": r["id"],
                    "amount": str(-Decimal(r["total"])),
                    "line_items": [],
                    "shipping_lines": [],
                    "fee_lines": [],
                }
                for r in order.get("refunds") or []
            ]
        return listed

    def _refunds(self, order_id: int) -> Response:
        """``GET /orders/<id>/refunds``."""
        order = self._order(order_id)
        if order is None:
            body = {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}
            return Response(json.dumps(body), status=404, content_type="application/json")
        listed = self._order_refunds(order_id, order)
        return Response(json.dumps(listed), content_type="application/json")

    def _all_refunds(self, request: Request) -> Response:
        """``GET /refunds?include=…`` (WooCommerce 9.0+, ``WC_REST_Refunds_Controller``):
        the same refund objects with ``parent_id``, found by refund id."""
        wanted = set(request.args.get("include", "").split(","))
        orders = (
            self.lazy_orders.latest() if self.lazy_orders is not None else self.orders
        ).items()
        found = [
            {"id": refund["id"], "parent_id": order_id, **refund}
            for order_id, order in orders
            if order.get("refunds")
            for refund in self._order_refunds(order_id, order)
            if str(refund["id"]) in wanted
        ]
        return Response(json.dumps(found), content_type="application/json")

    @staticmethod
    def _filtered(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``status`` (``any`` is every status but the trash) and ``include``."""
        status = request.args.get("status", "any")
        if status == "any":
            items = [i for i in items if i.get("status") != "trash"]
        else:
            items = [i for i in items if i.get("status", "publish") in status.split(",")]
        include = request.args.get("include")
        if include:
            wanted = set(include.split(","))
            items = [i for i in items if str(i["id"]) in wanted]
        return items

    def _list(self, request: Request, items: list[dict[str, Any]] | LazyOrders) -> Response:
        after = request.args.get("modified_after")
        per_page = min(int(request.args.get("per_page", 10)), 100)
        page = int(request.args.get("page", 1))
        if isinstance(items, LazyOrders) and (
            request.args.get("include") or request.args.get("status") == "trash"
        ):
            # A lazy shop has no trash; ``include`` is answered from the latest copies.
            items = [] if request.args.get("status") == "trash" else list(items.latest().values())
            items = self._filtered(request, items)
        if isinstance(items, LazyOrders):
            chunk, total = items.page(after, page, per_page)
        else:
            items = self._filtered(request, items)
            if after:
                items = [i for i in items if i.get("date_modified_gmt", "") > after]
            items = sorted(items, key=lambda i: (i.get("date_modified_gmt", ""), i["id"]))
            chunk, total = items[(page - 1) * per_page : page * per_page], len(items)
        pages = max(1, -(-total // per_page))
        response = Response(json.dumps(chunk), content_type="application/json")
        response.headers["X-WP-Total"] = str(total)
        response.headers["X-WP-TotalPages"] = str(pages)
        return response

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(f"{request.method} {request.full_path}")
        if not self._authorised(request):
            response = Response(json.dumps({"code": "woocommerce_rest_cannot_view"}), status=401)
        elif self.throttle_next > 0:
            self.throttle_next -= 1
            response = Response("slow down", status=429, headers={"Retry-After": "0"})
        elif request.path == "/wp-json/wc/v3/orders":
            response = self._list(request, self.lazy_orders or list(self.orders.values()))
        elif re.fullmatch(r"/wp-json/wc/v3/orders/\d+/refunds", request.path):
            response = self._refunds(int(request.path.split("/")[-2]))
        elif request.path == "/wp-json/wc/v3/refunds" and self.refunds_endpoint:
            response = self._all_refunds(request)
        elif request.path == "/wp-json/wc/v3/coupons" and request.method == "POST":
            data = json.loads(request.get_data())
            if data["code"].lower() in self.coupons:
                message = {
                    "code": "woocommerce_rest_coupon_code_already_exists",
                    "message": "The coupon code already exists",
                }
                response = Response(json.dumps(message), status=400)
            else:
                coupon = {**data, "id": 500 + len(self.coupons)}
                self.coupons[data["code"].lower()] = coupon
                response = Response(json.dumps(coupon), status=201, content_type="application/json")
        elif request.path == "/wp-json/wc/v3/products":
            response = self._list(request, list(self.products.values()))
        else:
            response = Response("no route", status=404)
        return response(environ, start_response)


class ShopServer:
    def __init__(self, shop: FakeShop) -> None:
        self.server = make_server("127.0.0.1", 0, shop, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ShopServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()


def woo_order(
    order_id: int = 727,
    status: str = "processing",
    modified: str = "2026-11-20T10:00:00",
    refunds: list[dict[str, Any]] | None = None,
    coupons: list[str] = (),
    meta: list[dict[str, Any]] | None = None,
    completed: str | None = None,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "USD",
        "date_created_gmt": "2026-11-20T09:00:00",
        "date_modified_gmt": modified,
        "date_completed_gmt": completed,
        "customer_id": 0,
        "total": "110.00",  # goods 100.00 + tax 10.00
        "billing": {"email": "Buyer@Example.com"},
        "customer_ip_address": "203.0.113.50",
        "customer_user_agent": "Mozilla/5.0 (Linux; Android 14) Mobile",
        "line_items": [
            {
                "id": 315,
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "total": "60.00",
                "total_tax": "6.00",
                "name": "Tea",
            },
            {
                "id": 316,
                "product_id": 22,
                "variation_id": 23,
                "quantity": 1,
                "total": "40.00",
                "total_tax": "4.00",
                "name": "Cup",
            },
        ],
        "coupon_lines": [{"id": 1, "code": code} for code in coupons],
        "refunds": refunds or [],
        "meta_data": meta or [],
    }


def deliver(client, topic: str, payload: Any, secret: str = SECRET, delivery: str = "d1"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": sign(secret, body),
        "X-WC-Webhook-ID": "4",
        "X-WC-Webhook-Delivery-ID": delivery,
    }
    return client.post(
        "/woocommerce/webhook", data=body, headers=headers, content_type="application/json"
    )


def commission_states(app: Flask, shop_order_id: str = "727") -> list[tuple[int, str, Decimal]]:
    with app.app_context():
        order = orders.find("woocommerce", shop_order_id)
        if order is None:
            return []
        rows = db.session.scalars(
            select(Commission).where(Commission.order_id == order.id).order_by(Commission.depth)
        )
        return [(c.depth, c.state.value, c.amount) for c in rows]
