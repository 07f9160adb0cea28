"""The WooCommerce webhook, with deliveries signed exactly as WooCommerce signs them."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import func, select

from plugins.woocommerce_bridge import inbox
from plugins.woocommerce_bridge.models import WooDelivery
from plugins.woocommerce_bridge.signatures import sign
from portal import create_app
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import DistributorStatus
from portal.distributors.services import find_by_code
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, LedgerEntry
from portal.orders import services as orders
from tests.woo import SECRET, commission_states, deliver, woo_order


def test_signature_matches_woocommerce_test_vector() -> None:
    assert sign("", b"secret") == "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="


def test_ping_and_garbage(shop: Flask, client) -> None:
    assert (
        client.post(
            "/woocommerce/webhook",
            data=b"webhook_id=4",
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 200
    )
    assert client.post("/woocommerce/webhook", data=b"hello").status_code == 400
    assert deliver(client, "order.created", woo_order(), secret="wrong").status_code == 401
    assert deliver(client, "order.created", b"{not json").status_code == 400
    assert deliver(client, "order.created", b"[1, 2]").status_code == 400
    with shop.app_context():
        assert db.session.scalar(select(func.count(WooDelivery.id))) == 0


def test_unconfigured_secret_refuses_deliveries(app: Flask, client) -> None:
    assert deliver(client, "order.created", woo_order(), secret="").status_code == 401


def test_lifecycle_created_completed_partial_and_full_refund(
    shop: Flask, client, make_distributor
) -> None:
    parent, _ = make_distributor("parent@shop.example")
    _, code = make_distributor("seller@shop.example", parent_id=parent)
    assert deliver(client, "order.created", woo_order(coupons=[code.lower()])).status_code == 200
    assert commission_states(shop) == [(1, "pending", D("10.00")), (2, "pending", D("5.00"))]
    done = woo_order(
        status="completed",
        modified="2026-11-20T11:00:00",
        completed="2026-11-20T11:00:00",
        coupons=[code],
    )
    assert deliver(client, "order.updated", done, delivery="d2").status_code == 200
    assert [s for _, s, _ in commission_states(shop)] in (["holding"] * 2, ["available"] * 2)
    partial = {
        **done,
        "date_modified_gmt": "2026-11-21T08:00:00",
        "refunds": [{"id": 9, "total": "-33.00"}],
    }
    deliver(client, "order.updated", partial, delivery="d3")
    # No REST keys, so the refund's lines cannot be read: its goods share is estimated
    # from the order's own proportion, 33.00 × goods 100.00 / total 110.00 = 30.00.
    assert [a for _, _, a in commission_states(shop)] == [D("7.00"), D("3.50")]
    full = {
        **partial,
        "status": "refunded",
        "date_modified_gmt": "2026-11-22T08:00:00",
        "refunds": [{"id": 9, "total": "-33.00"}, {"id": 10, "total": "-77.00"}],
    }
    deliver(client, "order.updated", full, delivery="d4")
    assert commission_states(shop) == [(1, "reversed", D("0")), (2, "reversed", D("0"))]
    with shop.app_context():
        assert ledger.verify() == []
        order = orders.find("woocommerce", "727")
        assert (order.attribution_method, order.attribution_evidence["matched"]) == (
            "coupon",
            code.lower(),
        )
        assert order.customer_email == "buyer@example.com"


def test_the_same_delivery_three_times(shop: Flask, client, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    for _ in range(3):
        assert deliver(client, "order.created", woo_order(coupons=[code])).status_code == 200
    with shop.app_context():
        assert db.session.scalar(select(func.count(WooDelivery.id))) == 3  # all kept
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
        assert db.session.scalar(select(func.count(Commission.id))) == 1


def test_updated_before_created(shop: Flask, client, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    later = woo_order(
        status="completed",
        modified="2026-11-20T12:00:00",
        completed="2026-11-20T12:00:00",
        coupons=[code],
    )
    deliver(client, "order.updated", later, delivery="late")
    deliver(client, "order.created", woo_order(coupons=[code]), delivery="early")
    with shop.app_context():
        assert orders.find("woocommerce", "727").status == "completed"
    assert [s for _, s, _ in commission_states(shop)] != ["pending"]


def test_trashed_then_restored(shop: Flask, client, make_distributor) -> None:
    _, code = make_distributor("seller@shop.example")
    deliver(client, "order.created", woo_order(coupons=[code]))
    assert deliver(client, "order.deleted", {"id": 727}, delivery="del").status_code == 200
    assert commission_states(shop) == [(1, "reversed", D("0"))]
    restored = woo_order(modified="2099-01-01T00:00:00", coupons=[code])
    deliver(client, "order.restored", restored, delivery="res")
    assert commission_states(shop) == [(1, "pending", D("10.00"))]
    with shop.app_context():
        assert ledger.verify() == []


def test_attribution_precedence_and_evidence(shop: Flask, client, make_distributor) -> None:
    _, by_coupon = make_distributor("a@shop.example", name="Coupon")
    _, by_ref = make_distributor("b@shop.example", name="Ref")
    _, by_utm = make_distributor("c@shop.example", name="Utm")
    _, suspended = make_distributor("d@shop.example", status=DistributorStatus.SUSPENDED)
    utm = [
        {"id": 50, "key": "_wc_order_attribution_utm_source", "value": "portal"},
        {"id": 51, "key": "_wc_order_attribution_utm_campaign", "value": by_utm},
    ]
    ref = [
        {"id": 40, "key": "_portal_ref", "value": "ZZZZZZ"},
        {"id": 41, "key": "_portal_ref", "value": by_ref},
    ]  # highest id wins
    cases = [
        (woo_order(1, coupons=["SUMMER", by_coupon], meta=ref + utm), "coupon", by_coupon),
        (woo_order(2, coupons=[suspended], meta=ref + utm), "ref_meta", by_ref),
        (woo_order(3, meta=utm), "utm", by_utm),
        (
            {
                **woo_order(
                    4,
                    meta=[
                        {"id": 1, "key": "_wc_order_attribution_utm_source", "value": "google"},
                        utm[1],
                    ],
                ),
                "billing": {"email": "someone-new@example.com"},  # not bound to anyone
            },
            None,
            None,
        ),
    ]
    for payload, method, code in cases:
        deliver(client, "order.created", payload, delivery=str(payload["id"]))
        with shop.app_context():
            order = orders.find("woocommerce", str(payload["id"]))
            assert order.attribution_method == method
            if code:
                assert order.attribution_evidence["matched"] == code
                assert order.distributor_id == find_by_code(code).id
            else:
                assert order.distributor_id is None


def test_a_delivery_while_the_queue_is_down_is_processed_later(
    shop: Flask, app_config, make_distributor
) -> None:
    _, code = make_distributor("seller@shop.example")
    down = create_app(
        {**app_config, "REDIS_URL": "redis://127.0.0.1:1/0", "WOO_WEBHOOK_SECRET": SECRET}
    )
    response = deliver(down.test_client(), "order.created", woo_order(coupons=[code]))
    assert response.status_code == 200  # stored and answered
    assert commission_states(shop) == []
    with shop.app_context():
        assert db.session.scalar(select(func.count(WooDelivery.id))) == 1
        assert inbox.drain() == 1  # what the periodic run does once the queue is back
        assert ledger.balances(db.session.scalar(select(Commission.beneficiary_id)))[
            Bucket.PENDING
        ] == D("10.00")
    assert commission_states(shop)[0][1] == CommissionState.PENDING.value


def test_an_order_that_cannot_be_mapped_keeps_its_error(shop: Flask, client) -> None:
    bad = woo_order()
    bad["line_items"][0]["total"] = "lots"
    assert deliver(client, "order.created", bad).status_code == 200
    with shop.app_context():
        delivery = db.session.scalars(select(WooDelivery)).one()
        assert delivery.processed_at is None and "not an amount" in delivery.error
        assert orders.find("woocommerce", "727") is None
        assert delivery.failed_at is not None and delivery.attempts == 1
        for _ in range(3):  # a mapping error is not retried by itself: it waits for ops
            inbox.drain()
        assert db.session.get(WooDelivery, delivery.id, populate_existing=True).attempts == 1
        listed = db.session.scalars(inbox.deliveries_query(failed=True)).all()
        assert [d.id for d in listed] == [delivery.id]


@pytest.mark.slow
def test_deliveries_are_processed_by_a_real_worker(
    shop: Flask, app_config, redis_url: str, instance_path: str, make_distributor
) -> None:

    from tests.helpers import burst_worker, worker_env

    _, code = make_distributor("seller@shop.example")
    queued = create_app({**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": SECRET})
    client = queued.test_client()
    for delivery in ("a", "b", "c"):  # one order delivered three times
        assert (
            deliver(
                client, "order.created", woo_order(coupons=[code]), delivery=delivery
            ).status_code
            == 200
        )
    assert commission_states(shop) == []  # stored and queued, not yet processed
    env = worker_env(app_config, redis_url, instance_path)
    env["WOO_WEBHOOK_SECRET"] = SECRET
    result = burst_worker(env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert commission_states(shop) == [(1, "pending", D("10.00"))]
    with shop.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1
        assert ledger.verify() == []


def test_customer_binding(shop: Flask, client, make_distributor) -> None:
    from portal.settings import services as settings

    _, code = make_distributor("seller@shop.example")
    _, other = make_distributor("other@shop.example")
    first = woo_order(1, coupons=[code])  # 2026-11-20: the buyer is referred by coupon
    deliver(client, "order.created", first, delivery="1")
    later = {
        **woo_order(2),
        "date_created_gmt": "2026-12-10T09:00:00",
        "date_modified_gmt": "2026-12-10T09:00:00",
    }
    deliver(client, "order.created", later, delivery="2")  # no link, no coupon
    with shop.app_context():
        order = orders.find("woocommerce", "2")
        assert order.attribution_method == "binding"
        assert order.attribution_evidence["matched"] == code
    # another distributor's coupon does not steal a running binding, but is credited
    deliver(client, "order.created", woo_order(3, coupons=[other]), delivery="3")
    expired = {
        **woo_order(4),
        "date_created_gmt": "2027-01-05T09:00:00",
        "date_modified_gmt": "2027-01-05T09:00:00",
    }
    deliver(client, "order.created", expired, delivery="4")  # 46 days later: expired
    with shop.app_context():
        assert orders.find("woocommerce", "3").attribution_method == "coupon"
        assert orders.find("woocommerce", "4").distributor_id is None
        settings.update({"binding_days": 0}, None)
        db.session.commit()
    deliver(
        client,
        "order.created",
        {
            **woo_order(5),
            "date_created_gmt": "2026-11-25T09:00:00",
            "date_modified_gmt": "2026-11-25T09:00:00",
        },
        delivery="5",
    )
    with shop.app_context():
        assert orders.find("woocommerce", "5").distributor_id is None  # binding off
