"""Ops re-assign an order: old commission reversed through the ledger (a paid one carried
as a negative), new upline credited, audited, and a refused code writes nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.commissions import reassign
from portal.commissions.models import Commission, CommissionState
from portal.console import orders as overview
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.orders.models import Order
from tests.helpers import csrf_token
from tests.money import add_account, balances, decide, earn, request, signed_in, verify


def test_reassign_moves_the_commission_and_claws_back_a_paid_one(
    app: Flask, plan, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    wrong, _ = make_distributor("wrong@shop.example", name="Wrong")
    right, right_code = make_distributor("right@shop.example", name="Right")
    order_id = earn(app, wrong, "30.00", "1001")  # 30.00 available to the wrong one
    withdrawal = request(app, wrong, "30", add_account(app, wrong))
    decide(app, ops_id, withdrawal, "approve")
    decide(app, ops_id, withdrawal, "pay", "PP-1")
    ops = signed_in(app, "ops@shop.example")
    page = f"/admin/orders/{order_id}"
    shown = ops.get(page).get_data(as_text=True)
    assert "Wrong" in shown
    assert "coupons: []" not in shown and "utm: {}" not in shown  # evidence in words
    token = csrf_token(ops, page)
    refused = ops.post(
        f"{page}/reassign", data={"csrf_token": token, "code": "ZZZZZZ", "reason": "x"}
    )
    assert refused.status_code == 400 and "No active distributor" in refused.get_data(as_text=True)
    no_reason = ops.post(f"{page}/reassign", data={"csrf_token": token, "code": right_code})
    assert no_reason.status_code == 400
    form = {"csrf_token": token, "code": right_code, "reason": "lost coupon"}
    asked = ops.post(f"{page}/reassign", data=form)
    question = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Re-assign order #1001 to Right?" in question
    assert "Wrong" in question and "$30.00" in question and "lost coupon" in question
    with app.app_context():
        assert db.session.get(Order, order_id).distributor_id == wrong  # not yet
    done = ops.post(f"{page}/reassign", data={**form, "confirmed": "1"})
    assert done.status_code == 302
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.distributor_id, order.attribution_method) == (right, "manual")
        assert order.attribution_evidence["reason"] == "lost coupon"
        states = {
            (c.beneficiary_id, c.state, c.amount)
            for c in db.session.scalars(select(Commission).where(Commission.order_id == order_id))
        }
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "order.reassign"))
    assert states == {
        (wrong, CommissionState.PAID, D("0")),
        (right, CommissionState.AVAILABLE, D("30.00")),
    }
    # The wrong one was paid 30.00: it is carried as -30.00 into their next withdrawal.
    assert balances(app, wrong) == {Bucket.AVAILABLE: D("-30.00"), Bucket.PAID: D("30.00")}
    assert balances(app, right) == {Bucket.AVAILABLE: D("30.00")}
    assert entry.after["distributor"] == right_code
    assert verify(app) == []
    again = ops.post(
        f"{page}/reassign", data={"csrf_token": token, "code": right_code, "reason": "again"}
    )
    assert again.status_code == 400 and "already credited" in again.get_data(as_text=True)
    assert ops.get("/admin/orders?q=1001").status_code == 200


def test_the_order_pages_reads_and_the_reassign_preview(app: Flask, plan, make_distributor) -> None:
    wrong, _ = make_distributor("wrong@shop.example", name="Wrong")
    right, right_code = make_distributor("right@shop.example", name="Right")
    order_id = earn(app, wrong, "30.00", "1001")
    earn(app, right, "5.00", "1002")
    with app.test_request_context("/admin/orders"):
        page, names = overview.admin_page("")
        assert [o.shop_order_id for o in page.items] == ["1002", "1001"]
        assert names == {wrong: "Wrong", right: "Right"}
        page, names = overview.admin_page("1001")
        assert [o.id for o in page.items] == [order_id] and names == {wrong: "Wrong"}
        assert overview.admin_page("nope")[0].items == []
        order = overview.order(order_id)
        assert order is not None and len(order.lines) == 2
        assert overview.order(order_id + 100) is None
        earnings = overview.earnings(order)
        assert [c.beneficiary_id for c in earnings.commissions] == [wrong]
        assert set(earnings.people) == {wrong} and earnings.flags == []
        shown = reassign.preview(order, f" {right_code.lower()} ", "lost coupon")
        assert (shown.current.id, shown.target.id) == (wrong, right)
        assert shown.earned == D("30.00") and isinstance(shown.earned, D)
        for code, reason, field in (("ZZZZZZ", "x", "code"), (right_code, " ", "reason")):
            with pytest.raises(reassign.ReassignError) as refused:
                reassign.preview(order, code, reason)
            assert refused.value.field == field
        assert db.session.get(Order, order_id).distributor_id == wrong  # nothing written
