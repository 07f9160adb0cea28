"""What a real WooCommerce 10.0.2 shop sent (``shared/woocommerce-10.0.2``, see its
README): deliveries replayed in their recorded order, re-signed with the test's secret,
and the shop's REST answers for the loopback shop to serve."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.woocommerce_bridge.signatures import sign
from tests.helpers import unavailable
from tests.woo import SECRET

FOLDER = Path(__file__).resolve().parents[2] / "shared" / "woocommerce-10.0.2"
SCENARIOS = (
    "partial-refund-with-tax",
    "shipping-only-refund",
    "same-second-status-changes",
    "checkout-draft",
    "trash-and-restore",
    "utm-order-attribution",
    "classic-checkout-on-hold",
)
SELLER, UPLINE = "WQZRDY", "Q4YPCT"  # the recording run's distributors


@dataclass(frozen=True)
class Delivery:
    seq: int
    scenario: str
    headers: dict[str, str]
    body: bytes
    answered: int | None

    @property
    def topic(self) -> str:
        return self.headers["X-WC-Webhook-Topic"]

    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def folder() -> Path:
    if not FOLDER.is_dir():
        unavailable(f"the WooCommerce recordings are not at {FOLDER}")
    return FOLDER


def load(name: str) -> Any:
    return json.loads((folder() / name).read_text())


def deliveries(*scenarios: str) -> list[Delivery]:
    """The deliveries of these scenarios (all by default), merged in recorded order."""
    found = []
    for scenario in scenarios or SCENARIOS:
        for item in load(f"deliveries-{scenario}.json")["deliveries"]:
            found.append(
                Delivery(
                    item["seq"],
                    scenario,
                    item["headers"],
                    item["body"].encode(),
                    item["answered"],
                )
            )
    return sorted(found, key=lambda d: d.seq)


def post(client: Any, delivery: Delivery, secret: str = SECRET) -> Any:
    """Send a delivery as the shop sent it, signed with ``secret`` — except one the
    portal answered 401 (sent while the shop had a wrong secret), signed wrongly again."""
    headers = dict(delivery.headers)
    key = secret if delivery.answered != 401 else secret + "-wrong"
    headers["X-WC-Webhook-Signature"] = sign(key, delivery.body)
    return client.post("/woocommerce/webhook", data=delivery.body, headers=headers)


def final_copies(*scenarios: str) -> dict[int, dict[str, Any]]:
    """The last full copy of every order the deliveries show (what the shop's REST API
    lists afterwards)."""
    latest: dict[int, dict[str, Any]] = {}
    for delivery in deliveries(*scenarios):
        payload = delivery.payload()
        if "line_items" in payload:
            latest[payload["id"]] = payload
    return latest


def refunds() -> dict[int, list[dict[str, Any]]]:
    """``GET /orders/<id>/refunds`` as the shop answered it."""
    return {order: load(f"refunds-{order}.json") for order in (14, 16, 18)}
