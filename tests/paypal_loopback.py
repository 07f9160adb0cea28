"""A loopback PayPal: the parts of PayPal's REST API the portal's payouts use, on
127.0.0.1, following PayPal's published contract (no payment service can be reached from
the tests).

The contract, and where it is written down
==========================================

Authentication — https://developer.paypal.com/api/rest/authentication/ ,
https://developer.paypal.com/reference/get-an-access-token ,
https://developer.paypal.com/api/identity/v1/errors/invalid_client

* ``POST /v1/oauth2/token`` with HTTP Basic ``client_id:secret`` and the form body
  ``grant_type=client_credentials`` answers 200 ``{"scope", "access_token", "token_type":
  "Bearer", "app_id", "expires_in": <seconds>, "nonce"}``. Bad credentials: 401
  ``{"error": "invalid_client", "error_description": "Client Authentication failed"}``.
* Every API call carries ``Authorization: Bearer <access_token>``; a missing, unknown or
  expired token is 401 ``{"error": "invalid_token", "error_description": ...}``.

Create a batch — https://developer.paypal.com/api/payments.payouts-batch/v1/payouts-post ,
https://developer.paypal.com/api/payments.payouts-batch/v1/definitions/sender_batch_header

* ``POST /v1/payments/payouts`` ``{"sender_batch_header": {"sender_batch_id", "email_subject",
  "email_message", "recipient_type"?}, "items": [{"recipient_type": "EMAIL" | "PHONE" |
  "PAYPAL_ID", "amount": {"value": "10.00", "currency": "USD"}, "receiver", "note",
  "sender_item_id"}]}`` (1 to 15,000 items; the recipient type in each item or in the
  header) answers 201 ``{"batch_header": {"payout_batch_id", "batch_status": "PENDING",
  "sender_batch_header": {...}}, "links": [{"href": ".../v1/payments/payouts/<id>", "rel":
  "self", "method": "GET"}]}``.
* "PayPal does not process duplicate payouts. If you specify a sender_batch_id that was
  used in the last 30 days, the API rejects the request with an error message that shows
  the duplicate sender_batch_id and includes a HATEOAS link to the original payout with
  the same sender_batch_id. If you receive an HTTP 5nn status code, you can safely retry
  the request with the same sender_batch_id." Here: 400 ``{"name": "USER_BUSINESS_ERROR",
  "message", "debug_id", "details": [{"field": "sender_batch_header.sender_batch_id",
  "value": <id>, "location": "body", "issue": "SENDER_BATCH_ID_ALREADY_EXISTS",
  "description": "Batch with given sender_batch_id already exists"}], "links": [{"href":
  ".../v1/payments/payouts/<original id>", "rel": "self", "method": "GET"}]}``
  (https://developer.paypal.com/api/payments.payouts-batch/v1/errors/user_business_error).
* Errors have the shape of https://developer.paypal.com/api/rest/responses/ : ``{"name",
  "message", "debug_id", "information_link", "details": [{"field", "value", "location",
  "issue", "description"}], "links"}`` — a malformed request is 400 ``VALIDATION_ERROR``;
  too little money is 422 ``INSUFFICIENT_FUNDS``
  (https://developer.paypal.com/payouts/view-transactions , error codes table).

Batch and item status — https://developer.paypal.com/api/payments.payouts-batch/v1/payouts-get ,
https://developer.paypal.com/api/payments.payouts-batch/v1/definitions/batch_enum ,
https://developer.paypal.com/api/payments.payouts-batch/v1/definitions/transaction_enum ,
https://developer.paypal.com/payouts/use-payouts/track-payout-item-status

* ``GET /v1/payments/payouts/<payout_batch_id>?page=1&page_size=...`` answers
  ``{"batch_header": {"payout_batch_id", "batch_status", "sender_batch_header", "amount",
  ...}, "items": [{"payout_item_id", "transaction_id", "transaction_status",
  "payout_batch_id", "sender_batch_id", "payout_item": {recipient_type, amount, note,
  receiver, sender_item_id}, "errors": {"name", "message"}?, "links"}], "links"}``; an
  unknown id is 404 ``INVALID_RESOURCE_ID``.
* ``batch_status``: ``DENIED`` (nothing processed), ``PENDING``, ``PROCESSING``,
  ``SUCCESS`` (processed; "check the status of each item for any holds or unclaimed
  transactions"), ``CANCELED``.
* item ``transaction_status``: ``SUCCESS``, ``FAILED``, ``PENDING``, ``UNCLAIMED`` (no
  PayPal account yet; returned after 30 days), ``RETURNED``, ``ONHOLD``, ``BLOCKED``,
  ``REFUNDED``, ``REVERSED``.
* ``GET /v1/payments/payouts-item/<payout_item_id>`` answers one such item.

Webhooks — https://developer.paypal.com/payouts/webhooks ,
https://developer.paypal.com/api/webhooks/v1/verify-webhook-signature-post ,
https://developer.paypal.com/api/webhooks/v1/definitions/verify_webhook_signature

* Events ``PAYMENT.PAYOUTSBATCH.DENIED|PROCESSING|SUCCESS`` (a batch header, no items) and
  ``PAYMENT.PAYOUTS-ITEM.BLOCKED|CANCELED|FAILED|HELD|REFUNDED|RETURNED|SUCCEEDED|
  UNCLAIMED`` (the item, as above), delivered with the headers ``PAYPAL-AUTH-ALGO``,
  ``PAYPAL-CERT-URL``, ``PAYPAL-TRANSMISSION-ID``, ``PAYPAL-TRANSMISSION-SIG``,
  ``PAYPAL-TRANSMISSION-TIME``.
* ``POST /v1/notifications/verify-webhook-signature`` ``{"auth_algo", "cert_url",
  "transmission_id", "transmission_sig", "transmission_time", "webhook_id",
  "webhook_event": <the event>}`` answers 200 ``{"verification_status": "SUCCESS" |
  "FAILURE"}``. PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(body)``
  with its certificate's key; this loopback signs the same string with an HMAC of its own
  (the portal never checks the signature itself — it asks the API, as PayPal advises).

What the loopback does beyond the contract, for the tests: it can drop the connection
after creating a batch (the crash between "stored" and "answered"), answer 503 or refuse
once, deny a batch, settle items to a chosen status per receiver, and count everything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "AeLoopbackClientId-0123456789"
SECRET = "ELoopbackSecret-abcdefghij"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
_AMOUNT = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
RECIPIENT_TYPES = ("EMAIL", "PHONE", "PAYPAL_ID")
ITEM_EVENTS = {
    "SUCCESS": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
    "FAILED": "PAYMENT.PAYOUTS-ITEM.FAILED",
    "UNCLAIMED": "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
    "RETURNED": "PAYMENT.PAYOUTS-ITEM.RETURNED",
    "BLOCKED": "PAYMENT.PAYOUTS-ITEM.BLOCKED",
    "ONHOLD": "PAYMENT.PAYOUTS-ITEM.HELD",
    "REFUNDED": "PAYMENT.PAYOUTS-ITEM.REFUNDED",
    "REVERSED": "PAYMENT.PAYOUTS-ITEM.REFUNDED",
}
ERRORS = {  # an item's errors.name per failing status, as the Payouts API reports them
    "FAILED": ("RECEIVER_UNREGISTERED", "Receiver is unregistered"),
    "BLOCKED": ("RISK_DECLINE", "Transaction declined due to risk"),
}


def _id(n: int = 13) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Batch:
    payout_batch_id: str
    header: dict[str, Any]
    items: list[dict[str, Any]]
    status: str = "PENDING"


@dataclass
class PayPal:
    """The loopback's state; the tests read and steer it."""

    url: str = ""
    balance: Decimal = Decimal("1000000")
    token_seconds: int = 32400
    outcomes: dict[str, str] = field(default_factory=dict)  # receiver → final status
    batches: dict[str, Batch] = field(default_factory=dict)
    by_sender_id: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    posts: int = 0  # POST /v1/payments/payouts received
    token_requests: int = 0
    verifications: int = 0
    drop_after_create: int = 0  # that many creations get no answer (connection dropped)
    fail_next: int = 0  # that many POSTs answer 503 before doing anything
    deny_next: bool = False
    webhook_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- steering -------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def settle(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every pending item to its outcome (``outcomes`` by receiver, else ``status``
        or SUCCESS); the batches to SUCCESS. Returns the items that changed."""
        changed = []
        with self.lock:
            for batch in self.batches.values():
                if batch.status == "DENIED":
                    continue
                for item in batch.items:
                    if item["transaction_status"] in ("PENDING", "UNCLAIMED", "ONHOLD"):
                        final = self.outcomes.get(
                            item["payout_item"]["receiver"], status or "SUCCESS"
                        )
                        self._set(item, final)
                        changed.append(item)
                batch.status = "SUCCESS"
        return changed

    def set_item(self, payout_item_id: str, status: str) -> dict[str, Any]:
        with self.lock:
            for batch in self.batches.values():
                for item in batch.items:
                    if item["payout_item_id"] == payout_item_id:
                        self._set(item, status)
                        return item
        raise KeyError(payout_item_id)

    def _set(self, item: dict[str, Any], status: str) -> None:
        item["transaction_status"] = status
        item["time_processed"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if status in ERRORS:
            name, message = ERRORS[status]
            item["errors"] = {"name": name, "message": message}

    def items(self) -> list[dict[str, Any]]:
        return [item for batch in self.batches.values() for item in batch.items]

    # --- webhooks -------------------------------------------------------------------

    def event(self, item: dict[str, Any], event_type: str | None = None) -> dict[str, Any]:
        """A webhook event for an item, as PayPal delivers it."""
        return {
            "id": f"WH-{_id(17)}",
            "event_version": "1.0",
            "create_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "resource_type": "payouts_item",
            "event_type": event_type or ITEM_EVENTS[item["transaction_status"]],
            "summary": "Payout item status changed",
            "resource": json.loads(json.dumps(item)),
            "links": [],
        }

    def batch_event(self, payout_batch_id: str) -> dict[str, Any]:
        """A ``PAYMENT.PAYOUTSBATCH.<status>`` event: the batch header, no items."""
        batch = self.batches[payout_batch_id]
        return {
            "id": f"WH-{_id(17)}",
            "event_version": "1.0",
            "create_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "resource_type": "payouts",
            "event_type": f"PAYMENT.PAYOUTSBATCH.{batch.status}",
            "summary": "Payouts batch status changed",
            "resource": {
                "batch_header": {
                    "payout_batch_id": batch.payout_batch_id,
                    "batch_status": batch.status,
                    "sender_batch_header": dict(batch.header),
                },
                "links": [],
            },
            "links": [],
        }

    def _signed_text(self, transmission_id: str, time_: str, webhook_id: str, body: str) -> str:
        crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
        return f"{transmission_id}|{time_}|{webhook_id}|{crc}"

    def sign(self, body: str, webhook_id: str = WEBHOOK_ID) -> dict[str, str]:
        """The headers PayPal sends with a delivery of ``body`` (the exact JSON text)."""
        transmission_id = f"{_id(8)}-{_id(4)}-{_id(4)}"
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = self._signed_text(transmission_id, when, webhook_id, body)
        signature = hmac.new(self.webhook_key, text.encode(), hashlib.sha256).digest()
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{self.url}/v1/notifications/certs/CERT-loopback",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-TRANSMISSION-TIME": when,
            "Content-Type": "application/json",
        }

    def verify(self, request: dict[str, Any], raw_event: str) -> bool:
        text = self._signed_text(
            request["transmission_id"],
            request["transmission_time"],
            request["webhook_id"],
            raw_event,
        )
        expected = hmac.new(self.webhook_key, text.encode(), hashlib.sha256).digest()
        try:
            given = base64.b64decode(request["transmission_sig"])
        except ValueError:
            return False
        return hmac.compare_digest(expected, given) and request["webhook_id"] == WEBHOOK_ID


def _error(
    name: str, message: str, details: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "message": message,
        "debug_id": _id(13).lower(),
        "information_link": f"https://developer.paypal.com/docs/api/payments.payouts-batch/#errors-{name}",
        "details": details or [],
        **extra,
    }


def _raw_event(text: str) -> str:
    """The ``webhook_event`` member of a verification request, as the exact text sent."""
    start = text.index('"webhook_event"')
    start = text.index(":", start) + 1
    return text[start:].strip()[:-1].strip()


class Handler(BaseHTTPRequestHandler):
    paypal: PayPal  # set on the subclass per server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # --- plumbing -------------------------------------------------------------------

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Paypal-Debug-Id", _id(13).lower())
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        expiry = self.paypal.tokens.get(token)
        if expiry is None or expiry < time.time():
            self._body()
            self._answer(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "Token signature verification failed",
                },
            )
            return False
        return True

    # --- routes ---------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/v1/oauth2/token":
            return self._token()
        if not self._authorised():
            return None
        if path == "/v1/payments/payouts":
            return self._create()
        if path == "/v1/notifications/verify-webhook-signature":
            return self._verify()
        self._body()
        return self._answer(
            404, _error("RESOURCE_NOT_FOUND", "The specified resource does not exist.")
        )

    def do_GET(self) -> None:
        if not self._authorised():
            return None
        parts = urlsplit(self.path)
        match = re.fullmatch(r"/v1/payments/payouts/([A-Z0-9]+)", parts.path)
        if match:
            return self._show(match.group(1), parse_qs(parts.query))
        match = re.fullmatch(r"/v1/payments/payouts-item/([A-Z0-9]+)", parts.path)
        if match:
            for item in self.paypal.items():
                if item["payout_item_id"] == match.group(1):
                    return self._answer(200, item)
        return self._answer(
            404, _error("INVALID_RESOURCE_ID", "Requested resource ID was not found.")
        )

    def _token(self) -> None:
        body = parse_qs(self._body().decode())
        expected = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return self._answer(
                401,
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
            )
        if body.get("grant_type") != ["client_credentials"]:
            return self._answer(
                400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}
            )
        token = f"A21AA{_id(40)}"
        with self.paypal.lock:
            self.paypal.token_requests += 1
            self.paypal.tokens[token] = time.time() + self.paypal.token_seconds
        return self._answer(
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payouts",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": self.paypal.token_seconds,
                "nonce": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}{_id(20)}",
            },
        )

    def _invalid(self, request: Any) -> list[dict[str, Any]]:
        details = []
        if not isinstance(request, dict):
            return [{"field": "/", "location": "body", "issue": "MALFORMED_REQUEST_JSON"}]
        header = request.get("sender_batch_header")
        if not isinstance(header, dict):
            details.append(
                {"field": "sender_batch_header", "location": "body", "issue": "REQUIRED"}
            )
            header = {}
        sender_batch_id = header.get("sender_batch_id")
        if sender_batch_id is not None and (
            not isinstance(sender_batch_id, str) or len(sender_batch_id) > 256
        ):
            details.append({"field": "sender_batch_header.sender_batch_id", "location": "body"})
        items = request.get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= 15000:
            return [*details, {"field": "items", "location": "body", "issue": "REQUIRED"}]
        for n, item in enumerate(items):
            where = f"items[{n}]"
            amount = item.get("amount") if isinstance(item, dict) else None
            if not isinstance(amount, dict):
                details.append(
                    {"field": f"{where}.amount", "location": "body", "issue": "REQUIRED"}
                )
                continue
            value = amount.get("value")
            if not isinstance(value, str) or not _AMOUNT.fullmatch(value) or Decimal(value) <= 0:
                details.append(
                    {"field": f"{where}.amount.value", "value": str(value), "location": "body"}
                )
            if not isinstance(amount.get("currency"), str) or len(amount["currency"]) != 3:
                details.append({"field": f"{where}.amount.currency", "location": "body"})
            if not item.get("receiver"):
                details.append(
                    {"field": f"{where}.receiver", "location": "body", "issue": "REQUIRED"}
                )
            kind = item.get("recipient_type") or header.get("recipient_type")
            if kind not in RECIPIENT_TYPES:
                details.append({"field": f"{where}.recipient_type", "location": "body"})
        return details

    def _create(self) -> None:
        paypal = self.paypal
        raw = self._body()
        with paypal.lock:
            paypal.posts += 1
            if paypal.fail_next:
                paypal.fail_next -= 1
                return self._answer(
                    503, _error("SERVICE_UNAVAILABLE", "Service Unavailable. Retry later.")
                )
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        details = self._invalid(request)
        if details:
            for d in details:
                d.setdefault("issue", "INVALID_PARAMETER_SYNTAX")
            return self._answer(
                400, _error("VALIDATION_ERROR", "Invalid request - see details.", details)
            )
        header = dict(request["sender_batch_header"])
        sender_batch_id = header.get("sender_batch_id") or _id(16)
        with paypal.lock:
            original = paypal.by_sender_id.get(sender_batch_id)
            if original is not None:
                return self._answer(
                    400,
                    _error(
                        "USER_BUSINESS_ERROR",
                        "User business error.",
                        [
                            {
                                "field": "sender_batch_header.sender_batch_id",
                                "value": sender_batch_id,
                                "location": "body",
                                "issue": "SENDER_BATCH_ID_ALREADY_EXISTS",
                                "description": "Batch with given sender_batch_id already exists",
                            }
                        ],
                        links=[
                            {
                                "href": f"{paypal.url}/v1/payments/payouts/{original}",
                                "rel": "self",
                                "method": "GET",
                                "encType": "application/json",
                            }
                        ],
                    ),
                )
            total = sum(Decimal(i["amount"]["value"]) for i in request["items"])
            if total > paypal.balance:
                return self._answer(
                    422,
                    _error(
                        "INSUFFICIENT_FUNDS",
                        "Sender does not have sufficient funds. Please add funds and retry.",
                    ),
                )
            payout_batch_id = _id(13)
            header["sender_batch_id"] = sender_batch_id
            status = "DENIED" if paypal.deny_next else "PENDING"
            paypal.deny_next = False
            items = [
                {
                    "payout_item_id": _id(13),
                    "transaction_id": _id(17),
                    "activity_id": _id(17),
                    "transaction_status": "PENDING",
                    "payout_batch_id": payout_batch_id,
                    "sender_batch_id": sender_batch_id,
                    "payout_item": {
                        "recipient_type": item.get("recipient_type")
                        or header.get("recipient_type"),
                        "amount": item["amount"],
                        "note": item.get("note", ""),
                        "receiver": item["receiver"],
                        "sender_item_id": item.get("sender_item_id", ""),
                        "recipient_wallet": "PAYPAL",
                    },
                    "links": [
                        {
                            "href": f"{paypal.url}/v1/payments/payouts-item/PLACEHOLDER",
                            "rel": "item",
                            "method": "GET",
                        }
                    ],
                }
                for item in request["items"]
            ]
            for item in items:
                item["links"][0]["href"] = item["links"][0]["href"].replace(
                    "PLACEHOLDER", item["payout_item_id"]
                )
            if status != "DENIED":
                paypal.balance -= total
            paypal.batches[payout_batch_id] = Batch(payout_batch_id, header, items, status)
            paypal.by_sender_id[sender_batch_id] = payout_batch_id
            if paypal.drop_after_create:
                paypal.drop_after_create -= 1
                self.close_connection = True  # created, but the caller never hears of it
                return None
        return self._answer(
            201,
            {
                "batch_header": {
                    "payout_batch_id": payout_batch_id,
                    "batch_status": status,
                    "sender_batch_header": header,
                },
                "links": [
                    {
                        "href": f"{paypal.url}/v1/payments/payouts/{payout_batch_id}",
                        "rel": "self",
                        "method": "GET",
                        "encType": "application/json",
                    }
                ],
            },
        )

    def _show(self, payout_batch_id: str, query: dict[str, list[str]]) -> None:
        batch = self.paypal.batches.get(payout_batch_id)
        if batch is None:
            return self._answer(
                404, _error("INVALID_RESOURCE_ID", "Requested resource ID was not found.")
            )
        page = int((query.get("page") or ["1"])[0])
        size = int((query.get("page_size") or ["1000"])[0])
        with self.paypal.lock:
            items = json.loads(json.dumps(batch.items[(page - 1) * size : page * size]))
            total = sum(Decimal(i["payout_item"]["amount"]["value"]) for i in batch.items)
        return self._answer(
            200,
            {
                "batch_header": {
                    "payout_batch_id": batch.payout_batch_id,
                    "batch_status": batch.status,
                    "sender_batch_header": batch.header,
                    "amount": {
                        "currency": batch.items[0]["payout_item"]["amount"]["currency"],
                        "value": f"{total:.2f}",
                    },
                },
                "items": [] if batch.status == "DENIED" else items,
                "links": [
                    {
                        "href": f"{self.paypal.url}/v1/payments/payouts/{batch.payout_batch_id}",
                        "rel": "self",
                        "method": "GET",
                    }
                ],
            },
        )

    def _verify(self) -> None:
        text = self._body().decode()
        with self.paypal.lock:
            self.paypal.verifications += 1
        try:
            request = json.loads(text)
            raw_event = _raw_event(text)
        except ValueError:
            return self._answer(400, _error("INVALID_REQUEST", "Request is not well-formed."))
        missing = [
            name
            for name in (
                "auth_algo",
                "cert_url",
                "transmission_id",
                "transmission_sig",
                "transmission_time",
                "webhook_id",
                "webhook_event",
            )
            if not request.get(name)
        ]
        if missing:
            return self._answer(
                400,
                _error(
                    "VALIDATION_ERROR",
                    "Invalid request - see details.",
                    [
                        {"field": name, "location": "body", "issue": "MISSING_REQUIRED_PARAMETER"}
                        for name in missing
                    ],
                ),
            )
        ok = self.paypal.verify(request, raw_event)
        return self._answer(200, {"verification_status": "SUCCESS" if ok else "FAILURE"})


@contextmanager
def serve() -> Iterator[PayPal]:
    """A loopback PayPal on a free port, for the duration of the block."""
    paypal = PayPal()
    handler = type("BoundHandler", (Handler,), {"paypal": paypal})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    paypal.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield paypal
    finally:
        server.shutdown()
        server.server_close()
