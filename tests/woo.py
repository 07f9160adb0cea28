"""Test helpers for the WooCommerce bridge: order payloads, signed deliveries, and a real
HTTP(S) server on loopback speaking the WooCommerce REST v3 subset the portal uses:
orders and products with pagination headers, ``modified_after``, a 429 on demand,
coupons (create, read, update: ``status`` ``draft`` disables one), customers found by
email, the
general settings, WordPress's REST index (the timezone) and webhooks (list, create,
update, delete; disabled after more than 5 failed deliveries, the failure count kept on
re-activation, as WooCommerce does).

Authentication is checked as ``WC_REST_Authentication`` checks it: over HTTPS the key
and secret as Basic auth; over plain HTTP only a one-legged OAuth 1.0a signature
(HMAC-SHA1/SHA256 of ``METHOD&url&params`` keyed with ``secret&``, timestamp within 15
minutes, each nonce once) — verified here independently of the portal's signing library.
Not a mock of the client: the portal's httpx client talks to it over TCP."""

from __future__ import annotations

import base64
import bisect
import hmac
import json
import re
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus

from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugins.woocommerce_bridge.signatures import sign
from portal.commissions.models import Commission
from portal.extensions import db
from portal.orders import services as orders

KEY, API_SECRET = "ck_test", "cs_test"


@contextmanager
def rest_keys(app: Flask, url: str) -> Iterator[None]:
    """``app`` reads the shop at ``url`` with the test's REST keys, until the block ends."""
    app.config.update(WOO_STORE_URL=url, WOO_CONSUMER_KEY=KEY, WOO_CONSUMER_SECRET=API_SECRET)
    try:
        yield
    finally:
        app.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")


SECRET = "wh-secret-123"  # the webhook secret
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures
COUPON_STATUSES = ("draft", "pending", "private", "publish")  # get_post_statuses()
# The hooks WooCommerce 10.0.2 lists for each order topic (webhooks.json).
HOOKS = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
}


@dataclass(frozen=True)
class LazyOrders:
    """``count`` orders made on demand: ``make(n)`` for n = 1..count, modified in n order.

    A shop of any size without holding it in memory (the sync bench serves 100,000)."""

    count: int
    make: Callable[[int], dict[str, Any]]
    _latest: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False)
    _making: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def latest(self) -> dict[int, dict[str, Any]]:
        """The latest copy of each order, by id (made once, then kept; requests served at
        the same time wait for it, not read it half made)."""
        with self._making:
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


def _error(code: str, message: str, status: int) -> Response:
    body = {"code": code, "message": message, "data": {"status": status}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _invalid_param(name: str) -> Response:
    body = {
        "code": "rest_invalid_param",
        "message": f"Invalid parameter(s): {name}",
        "data": {"status": 400, "params": {name: f"{name} is not one of {COUPON_STATUSES}."}},
    }
    return _json(body, 400)


def _rfc3986(value: str) -> str:
    """PHP's ``rawurlencode`` (``wc_rest_urlencode_rfc3986``)."""
    return quote(value, safe="~")


# Answers of a request no key authenticated, per method (the routes' permission checks).
UNAUTHENTICATED = {
    "GET": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "POST": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "PUT": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "DELETE": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
}
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)


def _now_gmt() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


@dataclass
class FakeShop:
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-case code
    deleted_coupons: list[dict[str, Any]] = field(default_factory=list)  # force-deleted
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    # GET /orders/<id>/refunds answers, as a real shop gives them (see the recordings'
    # refunds-*.json); an order's refunds missing here are answered amount-only.
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refunds_endpoint: bool = True  # GET /refunds: WooCommerce 9.0 and later
    throttle_next: int = 0  # answer this many requests with 429 first
    requests: list[str] = field(default_factory=list)
    lazy_orders: LazyOrders | None = None  # served instead of ``orders`` when set
    permissions: str = "read_write"  # the key's: read | write | read_write
    currency: str = "USD"  # woocommerce_currency
    timezone_string: str = ""  # WordPress: empty when a plain UTC offset is chosen
    gmt_offset: Any = "0"
    # Webhooks as WooCommerce keeps them (with their secret and failure count).
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    # Answers a real shop gave (the recordings), served as they are for GET of the path
    # under /wp-json/wc/v3 (e.g. "/settings/general").
    recorded: dict[str, Any] = field(default_factory=dict)
    auth_used: list[str] = field(default_factory=list)  # basic | oauth1, per request let in

    # --- authentication (WC_REST_Authentication) ----------------------------------------

    def _basic(self, request: Request) -> tuple[bool, Response | None]:
        key = request.args.get("consumer_key")
        secret = request.args.get("consumer_secret")
        auth = request.authorization
        if not (key and secret) and auth is not None and auth.type == "basic":
            key, secret = auth.username, auth.password
        if not (key and secret) or key != KEY:
            return False, None  # an unknown key: WooCommerce goes on to OAuth
        if not hmac.compare_digest(secret, API_SECRET):
            error = _error(
                "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
            )
            return False, error
        return True, None

    def _oauth(self, request: Request) -> tuple[bool, Response | None]:
        params = {**request.args.to_dict(), **request.form.to_dict()}
        header = request.headers.get("Authorization", "").strip()
        if header.startswith("OAuth "):
            for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', header):
                params[name] = unquote_plus(quoted or bare)  # PHP urldecode()
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if len(missing) == len(OAUTH_PARAMS):
            return False, None  # not trying OAuth at all
        if missing:
            text = "Missing OAuth parameter" + ("s " if len(missing) > 1 else " ")
            error = _error(
                "woocommerce_rest_authentication_missing_parameter", text + ", ".join(missing), 401
            )
            return False, error
        if params["oauth_consumer_key"] != KEY:
            return False, _error(
                "woocommerce_rest_authentication_error", "Consumer key is invalid.", 401
            )
        given = params.pop("oauth_signature").replace(" ", "+")
        base_uri = f"{request.scheme}://{request.host}{request.path}"
        pairs = (_rfc3986(_rfc3986(k) + "=" + _rfc3986(v)) for k, v in sorted(params.items()))
        to_sign = f"{request.method.upper()}&{_rfc3986(base_uri)}&" + "%26".join(pairs)
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            error = "Invalid signature - signature method is invalid."
            return False, _error("woocommerce_rest_authentication_error", error, 401)
        digest = hmac.new(
            f"{API_SECRET}&".encode(), to_sign.encode(), method.removeprefix("HMAC-").lower()
        ).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), given):
            error = "Invalid signature - provided signature does not match."
            return False, _error("woocommerce_rest_authentication_error", error, 401)
        if abs(int(params["oauth_timestamp"]) - time.time()) > 15 * 60:
            return False, _error("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        if params["oauth_nonce"] in self.nonces:
            error = "Invalid nonce - nonce has already been used."
            return False, _error("woocommerce_rest_authentication_error", error, 401)
        self.nonces.add(params["oauth_nonce"])
        return True, None

    def _refusal(self, request: Request) -> Response | None:
        """None when a key authenticated the request and may do what it asks."""
        done, error = self._basic(request) if request.scheme == "https" else (False, None)
        how = "basic"
        if not done:
            done, oauth_error = self._oauth(request)
            error, how = oauth_error or error, "oauth1"
        if not done:
            code, message = UNAUTHENTICATED.get(request.method, UNAUTHENTICATED["GET"])
            return error or _error(code, message, 401)
        self.auth_used.append(how)
        wants = "read" if request.method in ("GET", "HEAD") else "write"
        if wants not in self.permissions:
            message = f"The API key provided does not have {wants} permissions."
            return _error("woocommerce_rest_authentication_error", message, 401)
        return None

    # --- orders, products, refunds -----------------------------------------------------

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
            return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return _json(self._order_refunds(order_id, order))

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
        return _json(found)

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

    @staticmethod
    def _paged(request: Request, chunk: list[Any], total: int) -> Response:
        per_page = min(int(request.args.get("per_page", 10)), 100)
        response = _json(chunk)
        response.headers["X-WP-Total"] = str(total)
        response.headers["X-WP-TotalPages"] = str(max(1, -(-total // per_page)))
        return response

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
        return self._paged(request, chunk, total)

    # --- coupons and customers ---------------------------------------------------------

    def _coupon(self, request: Request) -> Response:
        """``POST /coupons`` (WC_REST_Coupons_Controller): a unique code; ``status``
        one of WordPress's post statuses, ``publish`` when not given."""
        data = json.loads(request.get_data())
        if data["code"].lower() in self.coupons:
            return _error(
                "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists", 400
            )
        if data.get("status", "publish") not in COUPON_STATUSES:
            return _invalid_param("status")
        coupon = {
            "status": "publish",
            "usage_limit": None,
            "usage_limit_per_user": None,
            "date_expires_gmt": None,
            "individual_use": False,
            "email_restrictions": [],
            **data,
            "code": data["code"].lower(),  # wc_format_coupon_code: stored in lower case
            "id": 500 + len(self.coupons) + len(self.deleted_coupons),
            "usage_count": 0,
        }
        self.coupons[data["code"].lower()] = coupon
        return _json(coupon, 201)

    def coupon_by_id(self, coupon_id: int) -> dict[str, Any] | None:
        return next((c for c in self.coupons.values() if c["id"] == coupon_id), None)

    def _coupon_item(self, request: Request, coupon_id: int) -> Response:
        """``GET`` / ``PUT /coupons/<id>``: an unknown id is 400 on update (as the CRUD
        controller answers), 404 on read."""
        coupon = self.coupon_by_id(coupon_id)
        if coupon is None:
            status = 404 if request.method == "GET" else 400
            return _error("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", status)
        if request.method == "GET":
            return _json(coupon)
        data = json.loads(request.get_data() or b"{}")
        if "status" in data and data["status"] not in COUPON_STATUSES:
            return _invalid_param("status")
        coupon.update({k: v for k, v in data.items() if k not in ("id", "code")})
        return _json(coupon)

    def _coupon_list(self, request: Request) -> Response:
        """``GET /coupons?code=``: the coupons with that code (matched case-insensitively,
        as WooCommerce looks codes up), as a list."""
        code = request.args.get("code")
        found = [
            c for c in self.coupons.values() if code is None or c["code"].lower() == code.lower()
        ]
        return self._paged(request, found, len(found))

    def _coupon_delete(self, request: Request, coupon_id: int) -> Response:
        """``DELETE /coupons/<id>``: with ``force=true`` gone for good (the answer is the
        coupon as it was); without, WooCommerce moves it to the bin (``status`` trash)."""
        coupon = self.coupon_by_id(coupon_id)
        if coupon is None:
            return _error("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
        if request.args.get("force") in ("true", "1"):
            del self.coupons[coupon["code"].lower()]
            self.deleted_coupons.append(coupon)
            return _json(coupon)
        coupon["status"] = "trash"
        return _json(coupon)

    def _customers(self, request: Request) -> Response:
        """``GET /customers``: ``email`` matched whole and case-blind (WP_User_Query
        on ``user_email``); ``role`` ``customer`` unless ``all`` is asked for."""
        found = sorted(self.customers.values(), key=lambda c: c["id"])
        email = request.args.get("email")
        if email:
            found = [c for c in found if c["email"].lower() == email.lower()]
        role = request.args.get("role", "customer")
        if role != "all":
            found = [c for c in found if c.get("role", "customer") == role]
        return self._paged(request, found, len(found))

    def add_customer(self, email: str, role: str = "customer") -> int:
        customer_id = 20 + len(self.customers)
        self.customers[customer_id] = {"id": customer_id, "email": email, "role": role}
        return customer_id

    # --- settings, the site's timezone -------------------------------------------------

    def _settings_general(self, request: Request) -> Response:
        """``GET /settings/general``, shaped like the recording's settings-general.json."""
        base = f"{request.scheme}://{request.host}/wp-json/wc/v3/settings/general"

        def setting(key: str, label: str, kind: str, default: str, value: str, **extra: Any):
            return {
                "id": key,
                "label": label,
                "description": label,
                "type": kind,
                "default": default,
                **extra,
                "tip": label,
                "value": value,
                "_links": {
                    "self": [
                        {
                            "href": f"{base}/{key}",
                            "targetHints": {"allow": ["GET", "POST", "PUT", "PATCH"]},
                        }
                    ],
                    "collection": [{"href": base}],
                },
            }

        return _json(
            [
                setting("woocommerce_store_address", "Address line 1", "text", "", "1 Test St"),
                setting(
                    "woocommerce_default_country",
                    "Country / State",
                    "select",
                    "US:CA",
                    "US:CA",
                    options={
                        "US:CA": "United States (US) — California",
                        "CN:CN2": "China — Beijing",
                    },
                ),
                setting(
                    "woocommerce_currency",
                    "Currency",
                    "select",
                    "USD",
                    self.currency,
                    options={
                        "USD": "United States (US) dollar ($) — USD",
                        "CNY": "Chinese yuan (¥) — CNY",
                    },
                ),
                setting("woocommerce_price_num_decimals", "Number of decimals", "number", "2", "2"),
            ]
        )

    def _index(self, request: Request) -> Response:
        """WordPress's REST index (``WP_REST_Server::get_index``), ``_fields`` applied."""
        index = {
            "name": "Fake shop",
            "description": "",
            "url": f"{request.scheme}://{request.host}",
            "home": f"{request.scheme}://{request.host}",
            "gmt_offset": self.gmt_offset,
            "timezone_string": self.timezone_string,
            "namespaces": ["wp/v2", "wc/v3"],
            "authentication": [],
            "routes": {},
        }
        fields = [f for f in request.args.get("_fields", "").split(",") if f]
        return _json({k: v for k, v in index.items() if k in fields} if fields else index)

    # --- webhooks (WC_REST_Webhooks_Controller) ----------------------------------------

    def add_webhook(
        self, topic: str, delivery_url: str, secret: str, status: str = "active"
    ) -> int:
        """A webhook made in the shop (by hand, or by the portal over REST)."""
        webhook_id = max(self.webhooks, default=0) + 1
        now = _now_gmt()
        self.webhooks[webhook_id] = {
            "id": webhook_id,
            "name": f"portal {topic}",
            "status": status,
            "topic": topic,
            "delivery_url": delivery_url,
            "secret": secret,
            "api_version": "wp_api_v3",
            "failure_count": 0,
            "date_created_gmt": now,
            "date_modified_gmt": now,
        }
        return webhook_id

    def fail_deliveries(self, webhook_id: int, count: int = 1) -> None:
        """Deliveries the receiver did not take (WC_Webhook::failed_delivery): more than
        5 in a row disable the webhook, and it is never retried."""
        hook = self.webhooks[webhook_id]
        hook["failure_count"] += count
        if hook["failure_count"] > MAX_FAILURES:
            hook["status"] = "disabled"

    def delivered(self, webhook_id: int) -> None:
        """A delivery the receiver took: the failure count starts again."""
        self.webhooks[webhook_id]["failure_count"] = 0

    def _webhook_view(self, request: Request, hook: dict[str, Any], edit: bool = False):
        base = f"{request.scheme}://{request.host}/wp-json/wc/v3/webhooks"
        resource, event = hook["topic"].split(".", 1)
        view = {
            "id": hook["id"],
            "name": hook["name"],
            "status": hook["status"],
            "topic": hook["topic"],
            "resource": resource,
            "event": event,
            "hooks": HOOKS.get(hook["topic"], []),
            "delivery_url": hook["delivery_url"],
            "date_created": hook["date_created_gmt"],
            "date_created_gmt": hook["date_created_gmt"],
            "date_modified": hook["date_modified_gmt"],
            "date_modified_gmt": hook["date_modified_gmt"],
        }
        if edit:  # the "edit" context of create and update answers
            view["secret"] = hook["secret"]
        allow = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        view["_links"] = {
            "self": [{"href": f"{base}/{hook['id']}", "targetHints": {"allow": allow}}],
            "collection": [{"href": base}],
        }
        return view

    @staticmethod
    def _valid_topic(topic: Any) -> bool:
        if not isinstance(topic, str) or "." not in topic:
            return False
        resource, event = topic.lower().split(".", 1)
        return resource in ("order", "product", "coupon", "customer") and event in (
            "created",
            "updated",
            "deleted",
            "restored",
        )

    @staticmethod
    def _valid_url(url: Any) -> bool:
        return isinstance(url, str) and re.match(r"^https?://[^\s/]+", url) is not None

    def _webhooks(self, request: Request) -> Response:
        if request.method == "GET":
            status = request.args.get("status", "all")
            hooks = [h for h in sorted(self.webhooks.values(), key=lambda h: h["id"])]
            if status != "all":
                hooks = [h for h in hooks if h["status"] == status]
            per_page = min(int(request.args.get("per_page", 10)), 100)
            page = int(request.args.get("page", 1))
            chunk = hooks[(page - 1) * per_page : page * per_page]
            return self._paged(request, [self._webhook_view(request, h) for h in chunk], len(hooks))
        data = json.loads(request.get_data() or b"{}")
        if not self._valid_topic(data.get("topic")):
            return _error(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        if not self._valid_url(data.get("delivery_url")):
            return _error(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        webhook_id = self.add_webhook(
            data["topic"],
            data["delivery_url"],
            data.get("secret") or "generated-by-the-shop",
            "disabled" if data.get("status") in ("paused", "disabled") else "active",
        )
        if data.get("name"):
            self.webhooks[webhook_id]["name"] = data["name"]
        return _json(self._webhook_view(request, self.webhooks[webhook_id], edit=True), 201)

    def _webhook(self, request: Request, webhook_id: int) -> Response:
        hook = self.webhooks.get(webhook_id)
        if request.method == "DELETE":
            if request.args.get("force") != "true":
                return _error(
                    "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
                )
            if hook is None:
                return _error("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
            del self.webhooks[webhook_id]
            return _json(self._webhook_view(request, hook, edit=True))
        if hook is None:
            return _error("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
        if request.method == "GET":
            return _json(self._webhook_view(request, hook))
        data = json.loads(request.get_data() or b"{}")
        if data.get("topic"):
            if not self._valid_topic(data["topic"]):
                return _error(
                    "woocommerce_rest_shop_webhook_invalid_topic",
                    "Webhook topic must be valid.",
                    400,
                )
            hook["topic"] = data["topic"]
        if data.get("delivery_url"):
            if not self._valid_url(data["delivery_url"]):
                return _error(
                    "woocommerce_rest_shop_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                    400,
                )
            hook["delivery_url"] = data["delivery_url"]
        if data.get("secret"):
            hook["secret"] = data["secret"]
        if data.get("status"):
            if data["status"] not in ("active", "paused", "disabled"):
                return _error(
                    "woocommerce_rest_shop_webhook_invalid_status",
                    "Webhook status must be valid.",
                    400,
                )
            hook["status"] = data["status"]  # the failure count stays as it was
        if data.get("name"):
            hook["name"] = data["name"]
        hook["date_modified_gmt"] = _now_gmt()
        return _json(self._webhook_view(request, hook, edit=True))

    # --- routing -----------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = request.path.removeprefix("/wp-json/wc/v3")
        if request.method == "GET" and path in self.recorded:
            answer = self.recorded[path]
            return (
                self._paged(request, answer, len(answer))
                if isinstance(answer, list)
                else _json(answer)
            )
        if path == "/orders":
            return self._list(request, self.lazy_orders or list(self.orders.values()))
        if re.fullmatch(r"/orders/\d+/refunds", path):
            return self._refunds(int(path.split("/")[-2]))
        if path == "/refunds" and self.refunds_endpoint:
            return self._all_refunds(request)
        if path == "/coupons" and request.method == "POST":
            return self._coupon(request)
        if path == "/coupons" and request.method == "GET":
            return self._coupon_list(request)
        if re.fullmatch(r"/coupons/\d+", path) and request.method in ("GET", "PUT"):
            return self._coupon_item(request, int(path.split("/")[-1]))
        if re.fullmatch(r"/coupons/\d+", path) and request.method == "DELETE":
            return self._coupon_delete(request, int(path.split("/")[-1]))
        if path == "/customers" and request.method == "GET":
            return self._customers(request)
        if path == "/products":
            return self._list(request, list(self.products.values()))
        if path == "/settings/general":
            return self._settings_general(request)
        if path == "/webhooks":
            return self._webhooks(request)
        if re.fullmatch(r"/webhooks/\d+", path):
            return self._webhook(request, int(path.split("/")[-1]))
        return _error(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        shown = "&".join(
            f"{k}={quote(v, safe='')}"
            for k, v in request.args.items(multi=True)
            if not k.startswith("oauth_")
        )
        self.requests.append(f"{request.method} {request.path}?{shown}")
        if request.path.rstrip("/") == "/wp-json":
            response = self._index(request)  # public: no key needed
        elif not request.path.startswith("/wp-json/wc/v3/"):
            response = Response("no route", status=404)
        elif (refused := self._refusal(request)) is not None:
            response = refused
        elif self.throttle_next > 0:
            self.throttle_next -= 1
            response = Response("slow down", status=429, headers={"Retry-After": "0"})
        else:
            response = self._route(request)
        return response(environ, start_response)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (CA file, cert, key)."""
    from datetime import UTC, datetime, timedelta
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def certificate(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            builder = (
                builder.add_extension(
                    x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]),
                    critical=False,
                )
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                    critical=False,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                    critical=False,
                )
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("fake shop CA", ca_key, "fake shop CA", ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate("127.0.0.1", key, "fake shop CA", ca_key, ca=False)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class ShopServer:
    """The fake shop on a loopback port: plain HTTP, or HTTPS (``tls=True``) with a
    certificate from a CA of its own, ``ca_file`` (point ``SSL_CERT_FILE`` at it)."""

    def __init__(self, shop: FakeShop, tls: bool = False) -> None:
        context = None
        self.ca_file: Path | None = None
        if tls:
            self._folder = tempfile.TemporaryDirectory()
            self.ca_file, cert, key = _certificates(Path(self._folder.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
        self.server = make_server("127.0.0.1", 0, shop, threaded=True, ssl_context=context)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ShopServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def coupon_line(
    code: str,
    discount: str = "0",
    discount_tax: str = "0",
    line_id: int = 1,
    coupon_id: int = 15,
    discount_type: str = "percent",
    nominal: int | float = 10,
) -> dict[str, Any]:
    """A ``coupon_lines`` entry as WooCommerce 10.0.2 sends it (deliveries-trash-and-
    restore.json): ``discount`` and ``discount_tax`` as decimal strings without trailing
    zeros ("3.9"), the coupon's id, type and amount in the ``coupon_info`` meta and beside
    it. A real shop sends the code in lower case; ``code`` is sent as given, so tests of
    case-insensitive matching can send it otherwise."""
    info = json.dumps([coupon_id, code, discount_type, nominal], separators=(",", ":"))
    return {
        "id": line_id,
        "code": code,
        "discount": discount,
        "discount_tax": discount_tax,
        "meta_data": [
            {
                "id": 60 + line_id,
                "key": "coupon_info",
                "value": info,
                "display_key": "coupon_info",
                "display_value": info,
            }
        ],
        "discount_type": discount_type,
        "nominal_amount": nominal,
        "free_shipping": False,
    }


def woo_order(
    order_id: int = 727,
    status: str = "processing",
    modified: str = "2026-11-20T10:00:00",
    refunds: list[dict[str, Any]] | None = None,
    coupons: list[str] = (),
    meta: list[dict[str, Any]] | None = None,
    completed: str | None = None,
    coupon_lines: list[dict[str, Any]] = (),
    prices_include_tax: bool = False,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "number": str(order_id),
        "status": status,
        "currency": "USD",
        "prices_include_tax": prices_include_tax,
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
        "coupon_lines": [
            *(coupon_line(code, line_id=n) for n, code in enumerate(coupons, 1)),
            *coupon_lines,
        ],
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
