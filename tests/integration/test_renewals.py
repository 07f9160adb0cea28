"""Subscription renewals (#20 item 5): a WooCommerce Subscriptions renewal order
(``_subscription_renewal``, and the companion plugin's ``_portal_renewal_of`` naming the
original order) is credited to the original order's distributor at the plan's renewal
rate, for as many renewals or months as the plan says, and shows as "renewal of #N". The
original order is a real recorded delivery; the renewals are copies of it as
Subscriptions would create them. SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugins.woocommerce_bridge import mapping
from plugins.woocommerce_bridge.signatures import sign
from portal.commissions import engine
from portal.commissions.models import Commission, CommissionPlan
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders.models import Order
from tests import recordings
from tests.helpers import login
from tests.woo import SECRET

ORIGINAL = recordings.deliveries("utm-order-attribution")[0]  # order 16, 45.50 of goods


@pytest.fixture
def programme(shop: Flask, make_distributor) -> int:
    """The recording's upline (credited with order 16 by its utm campaign); the plan pays
    4 % on the first two renewals."""
    upline, _ = make_distributor("upline@shop.example")
    with shop.app_context():
        db.session.get(Distributor, upline).code = recordings.UPLINE
        plan = db.session.scalar(select(CommissionPlan).where(CommissionPlan.role == "affiliate"))
        plan.renewal_rate, plan.renewal_limit = D("4"), 2
        db.session.commit()
    return upline


def renewal(shop_id: int, month: int, **meta: str) -> dict[str, Any]:
    """Order 16 renewed as Subscriptions does: a new order with the subscription's lines,
    the renewal meta, and none of the first visit's attribution."""
    payload = copy.deepcopy(ORIGINAL.payload())
    payload["id"], payload["number"] = shop_id, str(shop_id)
    when = datetime(2027, month, 2, 4, 44, 23, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for key in ("date_created_gmt", "date_modified_gmt", "date_paid_gmt"):
        payload[key] = when
    payload["meta_data"] = [
        m for m in payload["meta_data"] if not m["key"].startswith("_wc_order_attribution_")
    ] + [
        {"id": 9300 + n, "key": k, "value": v}
        for n, (k, v) in enumerate(
            {"_subscription_renewal": "15", "_portal_renewal_of": "16", **meta}.items()
        )
    ]
    return payload


def deliver(client: FlaskClient, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = {**ORIGINAL.headers, "X-WC-Webhook-Signature": sign(SECRET, body)}
    assert client.post("/woocommerce/webhook", data=body, headers=headers).status_code == 200


def earned(app: Flask, shop_id: str) -> list[tuple[int, D, str | None]]:
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.shop_order_id == shop_id))
        return sorted(
            (c.depth, c.amount, c.zero_reason)
            for c in db.session.scalars(select(Commission).where(Commission.order_id == order.id))
        )


def test_renewals_earn_the_original_seller_the_renewal_rate_for_two_renewals(
    shop: Flask, programme: int
) -> None:
    webhook = shop.test_client()
    recordings.post(webhook, ORIGINAL)  # the original order, credited by its utm campaign
    for shop_id, month in ((40, 1), (41, 2), (42, 3)):
        deliver(webhook, renewal(shop_id, month))
    with shop.app_context():
        renewals = {
            o.shop_order_id: o
            for o in db.session.scalars(select(Order).where(Order.attribution_method == "renewal"))
        }
        original = db.session.scalar(select(Order).where(Order.shop_order_id == "16"))
        assert set(renewals) == {"40", "41", "42"}
        assert {o.distributor_id for o in renewals.values()} == {programme}
        assert {o.renewal_of_id for o in renewals.values()} == {original.id}
        assert [renewals[k].attribution_evidence["renewal_number"] for k in ("40", "41", "42")] == [
            1,
            2,
            3,
        ]
        assert ledger.verify() == []
    four_percent = (D("45.50") * 4 / 100).quantize(D("0.01"))  # 1.82
    assert earned(shop, "40") == [(1, four_percent, None)]
    assert earned(shop, "41") == [(1, four_percent, None)]
    assert [(d, a) for d, a, _ in earned(shop, "42")] == [(1, D("0.00"))]  # past the two
    client = shop.test_client()
    login(client, "upline@shop.example")
    with shop.app_context():
        order_id = db.session.scalar(select(Order.id).where(Order.shop_order_id == "40"))
    page = client.get(f"/me/orders/{order_id}").get_data(as_text=True)
    assert "Renewal of a subscription you sold" in page and "#16" in page


def test_a_renewal_without_the_plugins_meta_is_an_ordinary_order() -> None:
    payload = renewal(40, 1)
    assert mapping.referral(payload).renewal_of == "16"
    payload["meta_data"] = [m for m in payload["meta_data"] if m["key"] != "_portal_renewal_of"]
    assert mapping.referral(payload).renewal_of is None
    assert mapping.referral(ORIGINAL.payload()).renewal_of is None


def test_a_renewal_of_an_order_credited_to_nobody_credits_nobody(shop: Flask) -> None:
    webhook = shop.test_client()
    recordings.post(webhook, ORIGINAL)  # nobody has the recording's codes here
    deliver(webhook, renewal(40, 1))
    with shop.app_context():
        assert (
            db.session.scalar(select(Order.distributor_id).where(Order.shop_order_id == "40"))
            is None
        )


@pytest.mark.parametrize(
    ("rate", "limit", "months", "number", "since", "paid"),
    [
        (D("4"), None, None, 30, 29, D("4")),
        (D("4"), 2, None, 2, 1, D("4")),
        (D("4"), 2, None, 3, 2, D("0")),
        (D("4"), None, 12, 11, 11, D("4")),
        (D("4"), None, 12, 12, 12, D("0")),
        (None, None, None, 1, 0, D("0")),
    ],
)
def test_the_renewal_terms(rate, limit, months, number, since, paid) -> None:
    plan = engine.Plan(
        role="affiliate",
        max_depth=3,
        rates=(D("10"), D("5"), D("2")),
        renewal_rate=rate,
        renewal_limit=limit,
        renewal_months=months,
    )
    members = [
        engine.Member(1, "affiliate", level_rates=(D("15"), None, None)),
        engine.Member(2, "affiliate"),
    ]
    renewal_plan, chain = engine.for_renewal(plan, members, number, since)
    order = engine.Order("r", "USD", (engine.Line("1", "P", 1, D("100.00")),))
    result = engine.compute(order, chain, renewal_plan, engine.Settings(now=datetime.now(UTC)))
    assert [line.amount for line in result.lines] == [
        paid.quantize(D("0.01"))
    ]  # no team, no level rate


def test_a_repeated_and_a_refunded_renewal(shop: Flask, programme: int) -> None:
    """The same renewal delivered twice earns once; refunded in full (the recording's own
    refund of order 16, as the renewal's), it earns nothing; the ledger balances."""
    webhook = shop.test_client()
    recordings.post(webhook, ORIGINAL)
    first = renewal(40, 1)
    deliver(webhook, first)
    deliver(webhook, first)
    four_percent = (D("45.50") * 4 / 100).quantize(D("0.01"))
    assert earned(shop, "40") == [(1, four_percent, None)]
    refunded = copy.deepcopy(recordings.deliveries("utm-order-attribution")[-1].payload())
    assert refunded["status"] == "refunded"
    for key in ("status", "refunds"):
        first[key] = refunded[key]
    first["date_modified_gmt"] = "2027-01-05T00:00:00"  # after the renewal's own copy
    deliver(webhook, first)
    assert [(d, a) for d, a, _ in earned(shop, "40")] == [(1, D("0.00"))]
    with shop.app_context():
        assert ledger.verify() == []
        assert (
            db.session.scalar(select(Order.attribution_method).where(Order.shop_order_id == "40"))
            == "renewal"
        )
