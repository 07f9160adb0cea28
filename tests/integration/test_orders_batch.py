"""Storing a batch of copies in bulk ends where storing them one by one ends — on SQLite
and PostgreSQL.

Each story is stored twice in one database: copy by copy (``store_order``, a transaction
each: the reference) under one set of shop order ids, and as one ``store_orders`` batch
under another; the two are compared column by column, lines in their stored order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.extensions import db
from portal.orders import services as orders
from portal.orders.models import Order, OrderLine
from portal.orders.services import Attribution, LineData, OrderData, RefundNote

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SKIP = {"id", "shop_order_id", "number", "stored_at", "commissions_due_at", "shop_digest"}


@pytest.fixture
def sellers(make_distributor) -> tuple[int, int]:
    first, _ = make_distributor("first@shop.example")
    second, _ = make_distributor("second@shop.example")
    return first, second


def copy(shop_order_id: str, at: datetime = T0, **kw: Any) -> OrderData:
    base: dict[str, Any] = dict(
        shop_order_id=shop_order_id,
        number=shop_order_id,
        status="processing",
        currency="usd",
        created_at=T0,
        modified_at=at,
        lines=(
            LineData("1", "P1", 2, D("60.00"), ("books",), name="Book"),
            LineData("2", "P2", 1, D("40.00"), ("toys",), name="Toy"),
        ),
        customer_email=" Buyer@Example.com ",
        customer_ip="203.0.113.9",
    )
    base.update(kw)
    return OrderData(**base)


def renamed(data: OrderData, shop_order_id: str) -> OrderData:
    return replace(data, shop_order_id=shop_order_id, number=shop_order_id)


def state(shop_order_id: str) -> dict[str, Any]:
    """The stored order's columns and its lines in their stored order (ids left out)."""
    order = db.session.scalar(select(Order).where(Order.shop_order_id == shop_order_id))
    assert order is not None
    columns = {c.key: getattr(order, c.key) for c in Order.__table__.columns if c.key not in SKIP}
    lines = db.session.execute(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id)
    ).scalars()
    columns["lines"] = [
        {c.key: getattr(line, c.key) for c in OrderLine.__table__.columns if c.key not in SKIP}
        | {"order_id": None}
        for line in lines
    ]
    return columns


def both_ways(
    app: Flask, story: list[OrderData], stored: tuple[OrderData, ...] | list[OrderData] = ()
) -> list[bool]:
    """Store ``stored`` first (each in its own transaction), then ``story`` copy by copy
    under ids ``a…`` and as one batch under ids ``b…``; assert both end the same and
    return what the batch said of each copy (changed or not)."""
    with app.app_context():
        for prefix in ("a", "b"):
            for data in stored:
                orders.store_order(renamed(data, prefix + data.shop_order_id))
        one_by_one = [orders.store_order(renamed(data, "a" + data.shop_order_id)) for data in story]
        batch = orders.store_orders([renamed(data, "b" + data.shop_order_id) for data in story])
        db.session.commit()
        assert [s.changed for s in batch] == [s.changed for s in one_by_one]
        ids = {data.shop_order_id for data in story}
        for shop_order_id in ids:
            assert state("b" + shop_order_id) == state("a" + shop_order_id), shop_order_id
        # One order per shop order id, and every copy of it answered with its id.
        for stored_copy, data in zip(batch, story, strict=True):
            assert orders.find("woocommerce", "b" + data.shop_order_id).id == stored_copy.order_id
        return [s.changed for s in batch]


def test_the_same_order_twice_in_a_batch_is_stored_once(app: Flask, sellers) -> None:
    first = copy("1", attribution=Attribution(sellers[0], "coupon", {"coupon": "A"}))
    assert both_ways(app, [first, first]) == [True, False]
    with app.app_context():
        assert db.session.scalar(select(Order.distributor_id).where(Order.shop_order_id == "b1"))


def test_an_older_copy_after_a_newer_one_changes_nothing(app: Flask) -> None:
    newer = copy("1", T0 + timedelta(hours=2), status="completed", completed_at=T0)
    older = copy("1", T0 + timedelta(hours=1), lines=(LineData("9", "P9", 1, D("5")),))
    assert both_ways(app, [newer, older]) == [True, False]
    with app.app_context():
        stored = state("b1")
        assert stored["status"] == "completed" and len(stored["lines"]) == 2
        assert stored["net_total"] == D("100.00")


def test_a_same_second_copy_with_other_content_is_the_later_change(app: Flask) -> None:
    first = copy("1")
    later = copy("1", status="on-hold", lines=(LineData("1", "P1", 1, D("30.00")),))
    assert both_ways(app, [first, later]) == [True, True]
    with app.app_context():
        assert state("b1")["status"] == "on-hold" and len(state("b1")["lines"]) == 1
    assert both_ways(app, [renamed(first, "3"), renamed(later, "3"), renamed(first, "3")]) == [
        True,
        True,
        True,
    ]
    again = renamed(later, "2")
    assert both_ways(app, [again, again], stored=[again]) == [False, False]


def test_new_and_stored_orders_in_one_batch(app: Flask, sellers) -> None:
    credited = Attribution(sellers[0], "coupon", {"coupon": "A"})
    stored = [copy("1", attribution=credited), copy("2"), copy("3")]
    refund = RefundNote("r1", D("10.00"), D("10.00"), "lines")
    story = [
        copy("4"),  # new
        # Stored: a line gone, one changed, one new; another seller's claim does not stick.
        copy(
            "1",
            T0 + timedelta(hours=1),
            status="completed",
            lines=(
                LineData("2", "P2", 1, D("40.00"), refunded_total=D("10.00")),
                LineData("3", "P3", 3, D("15.00"), ("toys",), variation_id="31"),
            ),
            refunds=(refund,),
            attribution=Attribution(sellers[1], "coupon", {"coupon": "B"}),
        ),
        copy("2", T0 - timedelta(hours=1), status="cancelled"),  # stale
        # Stored without an attribution: a later copy brings the first one.
        copy("3", T0 + timedelta(hours=1), attribution=credited),
        copy("5", attribution=Attribution(sellers[1], "utm", {"sub_id": "x", "utm": {}})),
        copy("4", T0 + timedelta(hours=3), status="completed"),  # new, changed again
    ]
    assert both_ways(app, story, stored) == [True, True, False, True, True, True]
    with app.app_context():
        one = state("b1")
        assert one["distributor_id"] == sellers[0] and one["status"] == "completed"
        assert [line["shop_line_id"] for line in one["lines"]] == ["2", "3"]
        assert one["net_total"] == D("45.00") and one["refund_notes"][0]["rule"] == "lines"
        assert state("b2")["status"] == "processing"
        assert state("b3")["distributor_id"] == sellers[0]
        assert state("b4")["status"] == "completed"
        assert state("b5")["sub_id"] == "x"


def test_a_line_dropped_and_brought_back_in_one_batch_comes_back_last(app: Flask) -> None:
    dropped = copy("1", T0 + timedelta(hours=1), lines=(LineData("2", "P2", 1, D("40.00")),))
    back = copy("1", T0 + timedelta(hours=2))
    assert both_ways(app, [dropped, back], stored=[copy("1")]) == [True, True]
    with app.app_context():
        assert [line["shop_line_id"] for line in state("b1")["lines"]] == ["2", "1"]


def test_the_first_attribution_in_a_batch_sticks(app: Flask, sellers) -> None:
    at = T0 + timedelta(minutes=30)
    first = copy("1", at, attribution=Attribution(sellers[0], "coupon", {"coupon": "A"}))
    second = copy(
        "1", T0 + timedelta(hours=1), attribution=Attribution(sellers[1], "utm", {"utm": {}})
    )
    # The same copy with an attribution is the same copy (the digest leaves it out).
    again = replace(copy("1"), attribution=first.attribution)
    assert both_ways(app, [copy("1"), again, first, second]) == [True, False, True, True]
    with app.app_context():
        assert state("b1")["distributor_id"] == sellers[0]
        assert state("b1")["attribution_method"] == "coupon"


def test_a_restore_of_a_trashed_order_in_a_batch(app: Flask) -> None:
    trashed = copy("1", status="trash")
    assert both_ways(app, [trashed, copy("1")], stored=[copy("1")]) == [True, True]
    with app.app_context():
        assert state("b1")["status"] == "processing"
        orders.trash(orders.find("woocommerce", "b1"))
        db.session.flush()
        (again,) = orders.store_orders([renamed(copy("1"), "b1")], revive=[True])
        assert again.changed and state("b1")["status"] == "processing"


def test_an_order_the_session_holds_is_read_again_after_a_batch(app: Flask) -> None:
    with app.app_context():
        orders.store_order(copy("1"))
        held = orders.find("woocommerce", "1")
        assert [line.shop_line_id for line in held.lines] == ["1", "2"]
        later = copy("1", T0 + timedelta(hours=1), status="completed", lines=copy("1").lines[:1])
        orders.store_orders([later])
        assert held.status == "completed"
        assert [line.shop_line_id for line in held.lines] == ["1"]
        db.session.rollback()
