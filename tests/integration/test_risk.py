"""Risk control: each rule catches its case and leaves a clean order alone; flagged
commissions wait on review; ops release or reject them, in place, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role
from portal.commissions import services as commissions
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.orders import services as orders
from portal.orders.models import Order
from portal.orders.services import OrderData
from portal.risk.models import FlagStatus, RiskFlag
from portal.settings import services as settings
from portal.timeutil import utcnow
from tests import factories
from tests.helpers import csrf_token, login
from tests.money import HX, balances, signed_in, verify
from tests.woo import commission_states, deliver, woo_order

NOW = utcnow()
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148"


@pytest.fixture
def team(app: Flask, make_distributor) -> dict[str, int]:
    """top ← mid ← seller ← kid ← grandkid, a 10/5 % two-level plan."""
    names = ("Top", "Mid", "Seller", "Kid", "Grandkid")
    ids = factories.chain(
        make_distributor, *(f"{name.lower()}@shop.example" for name in names), names=names
    )
    with app.app_context():
        factories.add_plan("10", "5")
    return dict(zip((name.lower() for name in names), ids, strict=True))


def order_data(
    seller: int,
    shop_order_id: str,
    total: str = "100.00",
    *,
    email: str = "buyer@example.com",
    ip: str | None = "203.0.113.9",
    agent: str = "Firefox",
    minutes_ago: int = 0,
) -> OrderData:
    return factories.order(
        seller,
        shop_order_id,
        total,
        at=NOW - timedelta(minutes=minutes_ago),
        customer_email=email,
        customer_ip=ip,
        customer_user_agent=agent,
    )


def sell(app: Flask, seller: int, shop_order_id: str, *args: Any, **kwargs: Any) -> int:
    """Store :func:`order_data` and compute its commission (and risk) at its time."""
    with app.app_context():
        return factories.book(order_data(seller, shop_order_id, *args, **kwargs))


def rules(app: Flask, order_id: int) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(RiskFlag.rule).where(RiskFlag.order_id == order_id)))


def states(app: Flask, order_id: int) -> set[CommissionState]:
    with app.app_context():
        return set(
            db.session.scalars(select(Commission.state).where(Commission.order_id == order_id))
        )


def configure(app: Flask, **values: object) -> None:
    with app.app_context():
        settings.update(values, None)  # type: ignore[arg-type]
        db.session.commit()


def test_a_clean_order_is_left_alone(app: Flask, team) -> None:
    order_id = sell(app, team["seller"], "1")
    assert rules(app, order_id) == set()
    assert states(app, order_id) == {CommissionState.PENDING}


def test_self_purchase_holds_the_uplines_too(app: Flask, team) -> None:
    order_id = sell(app, team["seller"], "1", email="SELLER@shop.example")
    assert rules(app, order_id) == {"self_purchase"}
    assert states(app, order_id) == {CommissionState.ON_REVIEW}
    assert balances(app, team["mid"]) == {Bucket.ON_REVIEW: D("5.00")}
    configure(app, risk_self_purchase=False)
    assert rules(app, sell(app, team["seller"], "2", email="seller@shop.example")) == set()


def test_same_device_as_the_distributors_own_sign_in(app: Flask, team) -> None:
    client = app.test_client()
    assert (
        login(
            client, "seller@shop.example", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=PHONE
        ).status_code
        == 302
    )
    assert rules(app, sell(app, team["seller"], "1", ip="198.51.100.7")) == {"same_device"}
    assert rules(app, sell(app, team["seller"], "2", ip="192.0.2.1", agent=PHONE)) == set()
    configure(app, risk_same_device="ip_or_ua")
    assert rules(app, sell(app, team["seller"], "3", ip="192.0.2.1", agent=PHONE)) == {
        "same_device"
    }
    configure(app, risk_same_device="off")
    assert rules(app, sell(app, team["seller"], "4", ip="198.51.100.7")) == set()
    with app.app_context():
        flag = db.session.scalar(select(RiskFlag).where(RiskFlag.rule == "same_device"))
        assert flag.evidence["same"] == "address"


def test_same_device_in_a_batch_matches_each_seller_with_their_own_devices(
    app: Flask, team
) -> None:
    """One batch, two sellers each signed in from their own address: an order is held only
    when its buyer used the address of the distributor it is attributed to."""
    for email, address in (("seller", "198.51.100.7"), ("kid", "198.51.100.8")):
        signed = login(
            app.test_client(),
            f"{email}@shop.example",
            REMOTE_ADDR=address,
            HTTP_USER_AGENT=PHONE,
        )
        assert signed.status_code == 302

    def stored(seller: int, shop_order_id: str, ip: str) -> int:
        with app.app_context():
            data = order_data(seller, shop_order_id, ip=ip, agent=PHONE)
            return orders.store_order(data).order_id

    batch = {
        "seller, own address": stored(team["seller"], "1", "198.51.100.7"),
        "seller, kid's address": stored(team["seller"], "2", "198.51.100.8"),
        "kid, own address": stored(team["kid"], "3", "198.51.100.8"),
        "kid, elsewhere": stored(team["kid"], "4", "192.0.2.1"),
    }
    with app.app_context():
        commissions.apply_orders(list(batch.values()), NOW)
    held = {name for name, order_id in batch.items() if rules(app, order_id)}
    assert held == {"seller, own address", "kid, own address"}


def test_buying_inside_the_team(app: Flask, team) -> None:
    up = sell(app, team["seller"], "1", email="mid@shop.example")
    down = sell(app, team["seller"], "2", email="grandkid@shop.example")
    outside = sell(app, team["grandkid"], "3", email="top@shop.example")  # four levels up
    assert (rules(app, up), rules(app, down), rules(app, outside)) == (
        {"team_loop"},
        {"team_loop"},
        set(),
    )
    with app.app_context():
        relations = {
            f.order_id: f.evidence["relation"] for f in db.session.scalars(select(RiskFlag))
        }
    assert relations == {up: "upline 1", down: "downline 2"}


def test_velocity_and_large_orders(app: Flask, team) -> None:
    configure(app, risk_velocity_per_hour=2, risk_large_order=D("500"))
    first = sell(app, team["seller"], "1", minutes_ago=50)
    second = sell(app, team["seller"], "2", minutes_ago=10)
    third = sell(app, team["seller"], "3")
    big = sell(app, team["kid"], "4", total="600.00")
    small = sell(app, team["kid"], "5", total="500.00")
    assert [rules(app, o) for o in (first, second, third, big, small)] == [
        set(),
        set(),
        {"velocity"},
        {"large_order"},
        set(),
    ]


def test_release_and_reject_through_the_queue(app: Flask, team, make_user) -> None:
    held = sell(app, team["seller"], "1", email="seller@shop.example")
    doomed = sell(app, team["seller"], "2", email="mid@shop.example")
    make_user("ops@shop.example", Role.OPS)
    ops = signed_in(app, "ops@shop.example")
    page = ops.get("/admin/risk").get_data(as_text=True)
    assert f'id="risk-{held}"' in page and f'id="risk-{doomed}"' in page
    assert "Bought by the distributor" in page and "upline 1" in page
    token = csrf_token(ops, "/admin/risk")
    released = ops.post(f"/admin/risk/{held}/release", data={"csrf_token": token}, headers=HX)
    assert released.status_code == 200 and "Decided" in released.get_data(as_text=True)
    again = ops.post(f"/admin/risk/{held}/release", data={"csrf_token": token}, headers=HX)
    assert again.status_code == 409
    no_reason = ops.post(f"/admin/risk/{doomed}/reject", data={"csrf_token": token}, headers=HX)
    assert no_reason.status_code == 409
    rejected = ops.post(
        f"/admin/risk/{doomed}/reject",
        data={"csrf_token": token, "reason": "<b>loop</b>"},
        headers=HX,
    )
    assert rejected.status_code == 200 and "&lt;b&gt;loop" in rejected.get_data(as_text=True)
    assert states(app, held) == {CommissionState.PENDING}
    assert states(app, doomed) == {CommissionState.REVERSED}
    with app.app_context():
        statuses = {f.order_id: f.status for f in db.session.scalars(select(RiskFlag))}
    assert statuses == {held: FlagStatus.RELEASED, doomed: FlagStatus.REJECTED}
    # The seller earns nothing on their own order (engine rule); the upline's 5 % flows on.
    assert balances(app, team["mid"]) == {Bucket.PENDING: D("5.00")}
    assert verify(app) == []
    assert ops.get("/admin/risk").get_data(as_text=True).count('<tr id="risk-') == 0
    detail = ops.get(f"/admin/distributors/{team['seller']}").get_data(as_text=True)
    assert "Bought by the distributor" in detail and "released" in detail and "rejected" in detail


def test_a_webhook_order_from_the_sellers_own_phone_is_held(
    shop: Flask, client, make_distributor
) -> None:
    """End to end through the WooCommerce mapping: the shop's customer_ip_address matches
    where the distributor signs in from; only keyed hashes are stored."""
    _, code = make_distributor("seller@shop.example")
    seller_browser = shop.test_client()
    login(seller_browser, "seller@shop.example", REMOTE_ADDR="203.0.113.50")
    assert deliver(client, "order.created", woo_order(coupons=[code])).status_code == 200
    assert commission_states(shop) == [(1, "on_review", D("10.00"))]
    with shop.app_context():
        order = db.session.scalar(select(Order))
        assert order.customer_ip_hash and "203.0.113.50" not in order.customer_ip_hash
        assert rules(shop, order.id) == {"same_device"}
