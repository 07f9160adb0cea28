"""Community group leaders' pickup points (#20 items 1–2): a leader proposes a point, ops
approve it, the companion plugin's checkout offers it (``/pickup/<code>.json``), an order
collected there belongs to the leader with that evidence — read from a real recorded
WooCommerce delivery with the plugin's meta or its shipping line — and the leader's pick
list shows it to hand over. SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugins.woocommerce_bridge import mapping
from plugins.woocommerce_bridge.signatures import sign
from portal.distributors.models import Distributor, DistributorRole
from portal.extensions import db
from portal.orders.models import Order
from portal.pickup.models import Handover, PickupPoint, PointStatus
from tests import recordings
from tests.helpers import csrf_token, login
from tests.woo import SECRET

PLUGIN = (
    Path(__file__).parents[2]
    / "plugins/woocommerce_bridge/wordpress/portal-bridge/portal-bridge.php"
)
POINT = {
    "name": "Sunflower Estate gate 2",
    "address": "18 Garden Road, Block 3",
    "hours": "Mon–Sat 9:00–20:00",
}


@pytest.fixture
def leader(shop: Flask, make_distributor, make_user) -> tuple[FlaskClient, int, str]:
    """A group leader signed in, and ops and the recording's distributors around them."""
    leader_id, code = make_distributor("lena@shop.example", name="Lena")
    upline, _ = make_distributor("upline@shop.example")
    with shop.app_context():
        db.session.get(Distributor, leader_id).role = DistributorRole.GROUP_LEADER
        db.session.get(Distributor, upline).code = recordings.UPLINE
        db.session.commit()
    make_user("ops@shop.example")
    client = shop.test_client()
    assert login(client, "lena@shop.example").status_code == 302
    return client, leader_id, code


def propose(client: FlaskClient, **changes: str) -> Any:
    token = csrf_token(client, "/me/pickup")
    return client.post("/me/pickup/point", data={**POINT, **changes, "csrf_token": token})


def decide(app: Flask, point_id: int, decision: str, note: str = "") -> Any:
    ops = app.test_client()
    login(ops, "ops@shop.example")
    token = csrf_token(ops, "/admin/pickup-points")
    return ops.post(
        f"/admin/pickup-points/{point_id}/review",
        data={"decision": decision, "note": note, "csrf_token": token},
    )


def approved_point(shop: Flask, client: FlaskClient, leader_id: int) -> int:
    assert propose(client).status_code == 302
    with shop.app_context():
        point_id = db.session.scalar(
            select(PickupPoint.id).where(PickupPoint.distributor_id == leader_id)
        )
    assert decide(shop, point_id, "approve").status_code == 302
    return point_id


def test_a_point_is_offered_only_once_ops_approved_it(shop: Flask, leader) -> None:
    client, leader_id, code = leader
    assert propose(client).status_code == 302
    public = shop.test_client()
    assert public.get(f"/pickup/{code}.json").status_code == 404  # waiting for review
    with shop.app_context():
        point = db.session.scalar(
            select(PickupPoint).where(PickupPoint.distributor_id == leader_id)
        )
        assert point.status is PointStatus.PENDING
        point_id = point.id
    ops = shop.test_client()
    login(ops, "ops@shop.example")
    assert "Sunflower Estate gate 2" in ops.get("/admin/pickup-points").get_data(as_text=True)
    # Rejecting needs a reason; the leader sees it.
    decide(shop, point_id, "reject")
    with shop.app_context():
        assert db.session.get(PickupPoint, point_id).status is PointStatus.PENDING
    decide(shop, point_id, "reject", "Please give the building number")
    assert "Please give the building number" in client.get("/me/pickup").get_data(as_text=True)
    propose(client, address="18 Garden Road, Building 3")
    decide(shop, point_id, "approve")
    offered = public.get(f"/pickup/{code}.json")
    assert offered.status_code == 200
    assert offered.get_json() == {"id": point_id, **POINT, "address": "18 Garden Road, Building 3"}
    # A change goes back to review and off the checkout.
    propose(client, hours="Every day 8:00–22:00")
    assert public.get(f"/pickup/{code}.json").status_code == 404


def test_only_group_leaders_have_a_point(shop: Flask, make_distributor) -> None:
    make_distributor("affy@shop.example")
    client = shop.test_client()
    login(client, "affy@shop.example")
    assert "for active group leaders" in client.get("/me/pickup").get_data(as_text=True)
    answer = propose(client)
    assert answer.status_code == 400 and "for active group leaders" in answer.get_data(as_text=True)
    with shop.app_context():
        assert db.session.scalar(select(PickupPoint.id)) is None


@pytest.mark.parametrize("name", ["", "x" * 81, "gate\x002"])
def test_a_bad_point_is_a_field_error(shop: Flask, leader, name: str) -> None:
    client, _, _ = leader
    assert propose(client, name=name).status_code == 400
    with shop.app_context():
        assert db.session.scalar(select(PickupPoint.id)) is None


# --- the order: a real recorded delivery with the plugin's pickup meta ------------------


def recorded(**meta: str) -> dict[str, Any]:
    """The recorded paid order (utm campaign of the recording's upline), with meta added."""
    payload = copy.deepcopy(recordings.deliveries("utm-order-attribution")[0].payload())
    payload["meta_data"] += [
        {"id": 9100 + n, "key": k, "value": v} for n, (k, v) in enumerate(meta.items())
    ]
    return payload


def deliver(client: FlaskClient, payload: dict[str, Any]) -> None:
    delivery = recordings.deliveries("utm-order-attribution")[0]
    body = json.dumps(payload).encode()
    headers = {**delivery.headers, "X-WC-Webhook-Signature": sign(SECRET, body)}
    assert client.post("/woocommerce/webhook", data=body, headers=headers).status_code == 200


def stored(app: Flask) -> Order:
    return db.session.scalar(select(Order).where(Order.shop_order_id == "16"))


def test_an_order_collected_at_the_point_is_the_leaders(shop: Flask, leader) -> None:
    client, leader_id, code = leader
    point_id = approved_point(shop, client, leader_id)
    # The utm values name the upline; the pickup at the leader's point wins.
    deliver(
        shop.test_client(),
        recorded(_portal_pickup_code=code.lower(), _portal_pickup_point=str(point_id)),
    )
    with shop.app_context():
        order = stored(shop)
        assert (order.distributor_id, order.attribution_method) == (leader_id, "pickup")
        assert order.attribution_evidence["pickup_point"] == point_id
        assert (order.pickup_point_id, order.pickup_buyer) == (point_id, "Dave B.")
    page = client.get("/me/orders").get_data(as_text=True)
    assert "Collected at your pickup point" in page


def test_the_plugins_shipping_line_is_read_when_the_meta_is_missing(shop: Flask, leader) -> None:
    client, leader_id, code = leader
    point_id = approved_point(shop, client, leader_id)
    payload = recorded()
    payload["shipping_lines"] = [
        {
            "id": 31,
            "method_title": "Collect from your group leader",
            "method_id": "portal_pickup",
            "instance_id": "3",
            "total": "0.00",
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [
                {
                    "id": 201,
                    "key": "pickup_point",
                    "value": str(point_id),
                    "display_key": "pickup_point",
                    "display_value": str(point_id),
                },
                {
                    "id": 202,
                    "key": "pickup_code",
                    "value": code,
                    "display_key": "pickup_code",
                    "display_value": code,
                },
            ],
        }
    ]
    assert mapping.referral(payload).pickup_point == point_id
    deliver(shop.test_client(), payload)
    with shop.app_context():
        assert stored(shop).attribution_method == "pickup"


@pytest.mark.parametrize("case", ["another leader's point", "not approved"])
def test_a_point_that_is_not_the_leaders_approved_one_credits_nothing(
    shop: Flask, leader, make_distributor, case: str
) -> None:
    client, leader_id, code = leader
    if case == "not approved":
        propose(client)
        with shop.app_context():
            point_id = db.session.scalar(select(PickupPoint.id))
    else:
        other_id, _ = make_distributor("olga@shop.example")
        with shop.app_context():
            db.session.get(Distributor, other_id).role = DistributorRole.GROUP_LEADER
            db.session.commit()
        other = shop.test_client()
        login(other, "olga@shop.example")
        point_id = approved_point(shop, other, other_id)
    deliver(
        shop.test_client(), recorded(_portal_pickup_code=code, _portal_pickup_point=str(point_id))
    )
    with shop.app_context():
        order = stored(shop)
        assert order.attribution_method == "utm" and order.pickup_point_id is None
        assert order.distributor_id != leader_id


def test_a_malformed_point_id_fails_that_delivery_alone() -> None:
    with pytest.raises(mapping.MappingError, match="_portal_pickup_point"):
        mapping.referral(recorded(_portal_pickup_code="ABCDEF", _portal_pickup_point="seven"))


# --- the pick list ------------------------------------------------------------------------


def mark(client: FlaskClient, order_id: int, action: str = "handed-over", **headers: str) -> Any:
    token = csrf_token(client, "/me/pickup")
    return client.post(
        f"/me/pickup/orders/{order_id}/{action}", data={"csrf_token": token}, headers=headers
    )


def test_the_pick_list_hands_orders_over(shop: Flask, leader, make_distributor) -> None:
    client, leader_id, code = leader
    point_id = approved_point(shop, client, leader_id)
    deliver(
        shop.test_client(), recorded(_portal_pickup_code=code, _portal_pickup_point=str(point_id))
    )
    with shop.app_context():
        order = stored(shop)
        order_id, day = order.id, order.created_at_shop.date()
    page = client.get("/me/pickup").get_data(as_text=True)
    assert "Dave B." in page and "Green Shirt × 1" in page and "Mark handed over" in page
    assert "Dave B." not in client.get("/me/pickup?day=2020-01-01").get_data(as_text=True)
    assert "Dave B." in client.get(f"/me/pickup?day={day.isoformat()}").get_data(as_text=True)
    row = mark(client, order_id, **{"HX-Request": "true"})
    assert row.status_code == 200
    body = row.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="pick-{order_id}"') and "Undo" in body
    assert mark(client, order_id).status_code == 302  # twice: still one hand-over
    with shop.app_context():
        assert len(db.session.scalars(select(Handover)).all()) == 1
    assert "Dave B." not in client.get("/me/pickup?waiting=y").get_data(as_text=True)
    assert mark(client, order_id, "undo").status_code == 302
    with shop.app_context():
        assert db.session.scalar(select(Handover.id)) is None
    # Another leader reaches nothing of this point.
    other_id, _ = make_distributor("olga@shop.example")
    with shop.app_context():
        db.session.get(Distributor, other_id).role = DistributorRole.GROUP_LEADER
        db.session.commit()
    other = shop.test_client()
    login(other, "olga@shop.example")
    approved_point(shop, other, other_id)
    assert mark(other, order_id).status_code == 404
    assert "Dave B." not in other.get("/me/pickup").get_data(as_text=True)


def test_an_unpaid_order_is_listed_but_not_handed_over(shop: Flask, leader) -> None:
    client, leader_id, code = leader
    point_id = approved_point(shop, client, leader_id)
    payload = recorded(_portal_pickup_code=code, _portal_pickup_point=str(point_id))
    payload["status"] = "on-hold"
    deliver(shop.test_client(), payload)
    with shop.app_context():
        order_id = stored(shop).id
    assert "Not paid yet" in client.get("/me/pickup").get_data(as_text=True)
    mark(client, order_id)
    with shop.app_context():
        assert db.session.scalar(select(Handover.id)) is None


def test_the_plugin_offers_the_point_and_writes_the_meta_the_bridge_reads() -> None:
    text = PLUGIN.read_text()
    assert "'woocommerce_shipping_methods'" in text and "extends WC_Shipping_Method" in text
    assert "$methods['portal_pickup']" in text and mapping.PICKUP_METHOD == "portal_pickup"
    assert "'/pickup/' . rawurlencode( $code ) . '.json'" in text
    assert set(re.findall(r"update_meta_data\( '(_portal_pickup_\w+)'", text)) == {
        "_portal_pickup_point",
        "_portal_pickup_code",
    }


def test_pickup_commission_can_mature_from_the_hand_over(shop: Flask, leader, make_user) -> None:
    """With the setting on, the return window of a pickup order's commission starts when
    the leader hands it over, not when the shop completes it."""
    from datetime import timedelta

    from portal.accounts.models import User
    from portal.commissions import services as commissions
    from portal.commissions.models import Commission, CommissionState
    from portal.settings import services as settings
    from portal.timeutil import utcnow

    client, leader_id, code = leader
    point_id = approved_point(shop, client, leader_id)
    payload = recorded(_portal_pickup_code=code, _portal_pickup_point=str(point_id))
    payload["status"] = "completed"
    payload["date_completed_gmt"] = "2026-01-01T00:00:00"  # long past the return window
    with shop.app_context():
        ops = db.session.scalar(select(User).where(User.email == "ops@shop.example"))
        settings.update({"pickup_matures_on_handover": True, "risk_same_device": "off"}, ops)
        db.session.commit()
    deliver(shop.test_client(), payload)

    def state() -> tuple[CommissionState, object]:
        with shop.app_context():
            order = stored(shop)
            commissions.run_orders([order.id], utcnow())
            db.session.commit()
            c = db.session.scalar(select(Commission).where(Commission.order_id == order.id))
            return c.state, c.hold_until

    assert state()[0] is CommissionState.PENDING  # completed in the shop, not handed over
    with shop.app_context():
        order_id = stored(shop).id
    assert mark(client, order_id).status_code == 302
    held, until = state()
    assert held is CommissionState.HOLDING and until > utcnow() + timedelta(days=6)
    # A mistaken mark taken back: the commission waits for the hand-over again.
    assert mark(client, order_id, "undo").status_code == 302
    assert state()[0] is CommissionState.PENDING
