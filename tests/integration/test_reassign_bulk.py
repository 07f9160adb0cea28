"""Re-assigning and reviewing many orders at once: the batched path ends where one order
at a time ends (commissions, ledger, audit), paid commissions are carried as negatives and
counted, bad input writes nothing, and two bulk re-assignments of the same orders at once
end in one consistent state."""

from __future__ import annotations

import threading
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.cli import cli
from portal.commissions.models import Commission, CommissionPlan, CommissionState
from portal.commissions.reassign import ReassignError, reassign, reassign_many
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.orders.models import Order
from portal.risk import review
from portal.risk.models import FlagStatus, RiskFlag
from tests.helpers import csrf_token
from tests.money import add_account, balances, decide, earn, request, signed_in, verify


@pytest.fixture
def two_levels(app: Flask) -> None:
    with app.app_context():
        db.session.add(
            CommissionPlan(role="affiliate", max_depth=2, rate_depth1=D("10"), rate_depth2=D("5"))
        )
        db.session.commit()


def _world(app: Flask, make_distributor, ops_id: int, tag: str) -> dict[str, object]:
    """wrong (under up_wrong) sold four orders, one of them paid out; right is under
    up_right."""
    up_wrong, _ = make_distributor(f"uw{tag}@shop.example")
    wrong, _ = make_distributor(f"w{tag}@shop.example", parent_id=up_wrong)
    up_right, _ = make_distributor(f"ur{tag}@shop.example")
    right, right_code = make_distributor(f"r{tag}@shop.example", parent_id=up_right)
    orders = [earn(app, wrong, f"{10 * (n + 1)}.00", f"{tag}{n}") for n in range(4)]
    withdrawal = request(app, wrong, "10", add_account(app, wrong))
    decide(app, ops_id, withdrawal, "approve")
    decide(app, ops_id, withdrawal, "pay", f"PP-{tag}")
    roles = {up_wrong: "up_wrong", wrong: "wrong", up_right: "up_right", right: "right"}
    return {"orders": orders, "roles": roles, "code": right_code}


def _outcome(app: Flask, world: dict[str, object]) -> object:
    """Everything about the world's orders, with distributors named by their role."""
    roles: dict[int, str] = world["roles"]  # type: ignore[assignment]
    order_ids: list[int] = world["orders"]  # type: ignore[assignment]
    with app.app_context():
        orders = [
            (roles[o.distributor_id], o.attribution_method, o.attribution_evidence["reason"])
            for o in db.session.scalars(
                select(Order).where(Order.id.in_(order_ids)).order_by(Order.id)
            )
        ]
        commissions = sorted(
            (order_ids.index(c.order_id), roles[c.beneficiary_id], c.depth, c.state, c.amount)
            for c in db.session.scalars(
                select(Commission).where(Commission.order_id.in_(order_ids))
            )
        )
        audits = sorted(
            (order_ids.index(int(e.target_id)), e.after["reason"])
            for e in db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "order.reassign",
                    AuditEntry.target_id.in_([str(i) for i in order_ids]),
                )
            )
        )
    money = {role: balances(app, distributor) for distributor, role in roles.items()}
    return orders, commissions, audits, money


def test_bulk_ends_where_one_by_one_ends(
    app: Flask, two_levels, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    single = _world(app, make_distributor, ops_id, "A")
    batched = _world(app, make_distributor, ops_id, "B")
    with app.app_context():
        actor = db.session.get(User, ops_id)
        for order_id in single["orders"]:  # type: ignore[attr-defined]
            reassign(order_id, single["code"], "lost coupon", actor)  # type: ignore[arg-type]
        db.session.commit()  # as the order page's request does
    with app.app_context():
        actor = db.session.get(User, ops_id)
        moves = {order_id: batched["code"] for order_id in batched["orders"]}  # type: ignore[attr-defined]
        done = reassign_many(moves, " lost coupon ", actor, batch=3)  # type: ignore[arg-type]
    assert done.moved == batched["orders"] and done.unchanged == done.missing == []
    assert done.paid_carried == 1  # the first order's 10.00 was paid out
    assert _outcome(app, single) == _outcome(app, batched)
    orders, commissions, _, money = _outcome(app, batched)
    assert {o[0] for o in orders} == {"right"}
    # Paid 10.00 is carried into wrong's next payout; the rest of their earnings reversed.
    assert money["wrong"] == {Bucket.AVAILABLE: D("-10.00"), Bucket.PAID: D("10.00")}
    assert money["right"] == {Bucket.AVAILABLE: D("100.00")}
    assert money["up_right"] == {Bucket.AVAILABLE: D("50.00")}
    assert (0, "wrong", 1, CommissionState.PAID, D("0")) in commissions
    assert (0, "right", 1, CommissionState.AVAILABLE, D("10.00")) in commissions
    assert (0, "up_right", 2, CommissionState.AVAILABLE, D("5.00")) in commissions
    assert verify(app) == []
    with app.app_context():  # the same re-assignment again changes nothing
        again = reassign_many(moves, "again", None)  # type: ignore[arg-type]
    assert again.moved == [] and again.unchanged == batched["orders"]


def test_each_order_to_its_own_and_refusals_write_nothing(
    app: Flask, plan, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    wrong, wrong_code = make_distributor("w@shop.example")
    first, first_code = make_distributor("f@shop.example")
    second, second_code = make_distributor("s@shop.example")
    orders = [earn(app, wrong, "20.00", str(n)) for n in range(3)]
    with app.app_context():
        actor = db.session.get(User, ops_id)
        audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
        with pytest.raises(ReassignError) as unknown:
            reassign_many({orders[0]: first_code, orders[1]: "ZZZZZZ"}, "x", actor)
        assert unknown.value.field == "code" and "ZZZZZZ" in unknown.value.message
        with pytest.raises(ReassignError) as no_reason:
            reassign_many({orders[0]: first_code}, "  ", actor)
        assert no_reason.value.field == "reason"
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits
        assert {o.distributor_id for o in db.session.scalars(select(Order))} == {wrong}
        done = reassign_many(
            {
                orders[0]: first_code,
                orders[1]: second_code.lower(),
                orders[2]: wrong_code,
                999: first_code,
            },
            "split by region",
            actor,
        )
        assert (done.moved, done.unchanged, done.missing) == (orders[:2], [orders[2]], [999])
        credited = dict(db.session.execute(select(Order.id, Order.distributor_id)).all())
    assert credited == {orders[0]: first, orders[1]: second, orders[2]: wrong}
    assert balances(app, first) == balances(app, second) == {Bucket.AVAILABLE: D("20.00")}
    assert verify(app) == []


def test_two_bulk_reassignments_at_once_end_consistent(
    app: Flask, plan, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    wrong, _ = make_distributor("w@shop.example")
    one, one_code = make_distributor("one@shop.example")
    two, two_code = make_distributor("two@shop.example")
    orders = [earn(app, wrong, "10.00", str(n)) for n in range(12)]
    plans = {one_code: orders[:9], two_code: orders[3:]}  # orders 3..8 in both
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(code: str) -> None:
        with app.app_context():
            actor = db.session.get(User, ops_id)
            barrier.wait()
            try:
                reassign_many({i: code for i in plans[code]}, f"to {code}", actor, batch=2)
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(code,)) for code in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context():
        by_code = {one: one_code, two: two_code}
        for order in db.session.scalars(select(Order).where(Order.id.in_(orders))):
            assert order.distributor_id in (one, two)
            # the commission is the current distributor's, and only theirs
            live = {
                (c.beneficiary_id, c.state, c.amount)
                for c in db.session.scalars(
                    select(Commission).where(
                        Commission.order_id == order.id, Commission.amount != 0
                    )
                )
            }
            assert live == {(order.distributor_id, CommissionState.AVAILABLE, D("10.00"))}
            # the last audit entry of the order names where it is now
            last = db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "order.reassign", AuditEntry.target_id == str(order.id))
                .order_by(AuditEntry.id.desc())
            ).first()
            assert last.after["distributor"] == by_code[order.distributor_id]
            assert order.attribution_evidence["matched"] == by_code[order.distributor_id]
    assert verify(app) == []


def test_deciding_many_flags_at_once(app: Flask, two_levels, make_user, make_distributor) -> None:
    """Own purchases are held; a bulk release lets them all flow, a second one decides
    nothing, and a bulk reject of the rest reverses them."""
    from tests.integration.test_risk import sell

    ops_id = make_user("ops@shop.example", Role.OPS)
    up, _ = make_distributor("up@shop.example")
    seller, _ = make_distributor("seller@shop.example", parent_id=up)
    flagged = [sell(app, seller, str(n), email="seller@shop.example") for n in range(5)]
    with app.app_context():
        assert set(db.session.scalars(select(RiskFlag.order_id))) == set(flagged)
        actor = db.session.get(User, ops_id)
        with pytest.raises(review.ReviewError):
            review.decide_many(flagged, actor, release=False)  # a rejection needs a reason
        assert review.decide_many(flagged[:3], actor, release=True, batch=2) == flagged[:3]
        assert review.decide_many(flagged[:4], actor, release=True) == [flagged[3]]
        assert review.decide_many(flagged, actor, False, "own purchases") == [flagged[4]]
        statuses = dict(db.session.execute(select(RiskFlag.order_id, RiskFlag.status)).all())
        audits = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("risk.%"))
        )
        states = {
            c.order_id: c.state
            for c in db.session.scalars(select(Commission).where(Commission.beneficiary_id == up))
        }
    assert statuses == {i: FlagStatus.RELEASED for i in flagged[:4]} | {
        flagged[4]: FlagStatus.REJECTED
    }
    assert audits == 5
    assert states == {i: CommissionState.PENDING for i in flagged[:4]} | {
        flagged[4]: CommissionState.REVERSED
    }
    assert verify(app) == []


def test_the_cli_moves_a_whole_account(app: Flask, plan, make_distributor, tmp_path) -> None:
    wrong, wrong_code = make_distributor("w@shop.example")
    right, right_code = make_distributor("r@shop.example")
    other, other_code = make_distributor("o@shop.example")
    orders = [earn(app, wrong, "10.00", str(n)) for n in range(3)]
    runner = app.test_cli_runner()
    asked = runner.invoke(
        cli,
        ["orders", "reassign", "--from", wrong_code, "--to", right_code, "--reason", "x"],
        input="n\n",
    )
    assert asked.exit_code == 1 and "Re-assign 3 order(s)" in asked.output
    unknown = runner.invoke(
        cli, ["orders", "reassign", "--ids", "1", "--to", "NOPE99", "--reason", "x", "--yes"]
    )
    assert unknown.exit_code == 1 and "No active distributor" in unknown.output
    moved = runner.invoke(
        cli,
        ["orders", "reassign", "--from", wrong_code, "--to", right_code, "--reason", "merged"],
        input="y\n",
    )
    assert moved.exit_code == 0, moved.output
    assert "re-assigned 3, already there 0, not found 0" in moved.output
    lines = tmp_path / "moves.csv"
    lines.write_text(f"{orders[0]},{other_code}\n{orders[1]},{right_code}\n")
    split = runner.invoke(
        cli, ["orders", "reassign", "--csv", str(lines), "--reason", "split", "--yes"]
    )
    assert "re-assigned 1, already there 1" in split.output, split.output
    with app.app_context():
        credited = dict(db.session.execute(select(Order.id, Order.distributor_id)).all())
        actors = set(
            db.session.scalars(
                select(AuditEntry.actor_id).where(AuditEntry.action == "order.reassign")
            )
        )
    assert credited == {orders[0]: other, orders[1]: right, orders[2]: right}
    assert actors == {None}  # the CLI is no user
    assert balances(app, right) == {Bucket.AVAILABLE: D("20.00")}
    assert verify(app) == []


def test_the_risk_queue_decides_the_selected_orders(
    app: Flask, two_levels, make_user, make_distributor
) -> None:
    from tests.integration.test_risk import sell

    make_user("ops@shop.example", Role.OPS)
    up, _ = make_distributor("up@shop.example")
    seller, _ = make_distributor("seller@shop.example", parent_id=up)
    flagged = [sell(app, seller, str(n), email="seller@shop.example") for n in range(3)]
    ops = signed_in(app, "ops@shop.example")
    page = ops.get("/admin/risk").get_data(as_text=True)
    assert page.count('name="ids"') == 3 and 'id="batch"' in page
    token = csrf_token(ops, "/admin/risk")
    picked = {"csrf_token": token, "ids": [str(i) for i in flagged[:2]]}
    no_reason = ops.post("/admin/risk/batch", data={**picked, "action": "reject"})
    assert no_reason.status_code == 302
    assert "Give a reason" in ops.get("/admin/risk").get_data(as_text=True)
    done = ops.post("/admin/risk/batch", data={**picked, "action": "release"})
    assert done.status_code == 302
    shown = ops.get("/admin/risk").get_data(as_text=True)
    assert "2 orders decided." in shown and shown.count('name="ids"') == 1
    again = ops.post("/admin/risk/batch", data={**picked, "action": "release"})
    assert "2 selected orders were already decided." in ops.get(again.location).get_data(
        as_text=True
    )
    assert ops.post("/admin/risk/batch", data={**picked, "action": "x"}).status_code == 400
    with app.app_context():
        statuses = dict(db.session.execute(select(RiskFlag.order_id, RiskFlag.status)).all())
    assert statuses == {
        flagged[0]: FlagStatus.RELEASED,
        flagged[1]: FlagStatus.RELEASED,
        flagged[2]: FlagStatus.OPEN,
    }
    assert verify(app) == []
