"""Commissions through their states, booked in the ledger — on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import event, func, select

from portal.accounts.models import Role, User
from portal.cli import cli
from portal.commissions import jobs as commission_jobs
from portal.commissions import services
from portal.commissions.models import Commission, CommissionPlan, CommissionState, PlanOverride
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.guard import AppendOnlyViolation
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.settings import services as settings
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import PayoutMethod
from tests import factories
from tests.helpers import run_together

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=7)


@pytest.fixture
def chain(app: Flask, make_distributor) -> list[int]:
    """[buyer-facing distributor, its parent, its grandparent] with a 10/3/1 % plan."""
    ids = factories.chain(
        make_distributor, "top@shop.example", "mid@shop.example", "seller@shop.example"
    )
    with app.app_context():
        factories.add_plan("10", "3", "1")
    return ids[::-1]


def order_data(seller: int, shop_order_id: str = "1001", **kw) -> OrderData:
    base = dict(
        shop_order_id=shop_order_id,
        status="processing",
        currency="USD",
        created_at=T0,
        modified_at=T0,
        lines=(
            LineData("1", "P1", 2, D("60.00"), ("books",)),
            LineData("2", "P2", 1, D("40.00"), ("toys",)),
        ),
        customer_email="buyer@example.com",
        attribution=Attribution(seller, "coupon", {"coupon": "SELLER10"}),
    )
    base.update(kw)
    return OrderData(**base)


def completed(data: OrderData, at: datetime = T0 + timedelta(days=1)) -> OrderData:
    return replace(data, status="completed", completed_at=at, modified_at=at)


def refunded(data: OrderData, amount: str, at: datetime) -> OrderData:
    """A refund of ``amount`` against the first line (arrives as an order update)."""
    first, *rest = data.lines
    return replace(data, modified_at=at, lines=(replace(first, refunded_total=D(amount)), *rest))


def store_and_apply(app: Flask, data: OrderData, now: datetime) -> int:
    with app.app_context():
        return factories.book(data, now)


def balances(app: Flask, distributor_id: int) -> dict[Bucket, D]:
    with app.app_context():
        return {b: v for b, v in ledger.balances(distributor_id).items() if v}


def states(app: Flask, order_id: int) -> list[tuple[int, CommissionState, D]]:
    with app.app_context():
        rows = db.session.scalars(
            select(Commission).where(Commission.order_id == order_id).order_by(Commission.depth)
        )
        return [(c.depth, c.state, c.amount) for c in rows]


def verify(app: Flask) -> list[str]:
    with app.app_context():
        return ledger.verify()


def test_lifecycle_pending_holding_available_with_boundary(app: Flask, chain) -> None:
    seller, mid, top = chain
    data = order_data(seller)
    order_id = store_and_apply(app, data, T0)
    assert states(app, order_id) == [
        (1, CommissionState.PENDING, D("10.00")),
        (2, CommissionState.PENDING, D("3.00")),
        (3, CommissionState.PENDING, D("1.00")),
    ]
    assert balances(app, seller) == {Bucket.PENDING: D("10.00")}

    done_at = T0 + timedelta(days=1)
    store_and_apply(app, completed(data, done_at), done_at)
    assert {s for _, s, _ in states(app, order_id)} == {CommissionState.HOLDING}
    assert balances(app, mid) == {Bucket.HOLDING: D("3.00")}

    with app.app_context():
        assert services.mature_commissions(done_at + WINDOW - timedelta(seconds=1)) == 0
    assert balances(app, top) == {Bucket.HOLDING: D("1.00")}
    with app.app_context():
        assert services.mature_commissions(done_at + WINDOW) == 3  # the boundary second
        assert services.mature_commissions(done_at + WINDOW) == 0
    assert balances(app, seller) == {Bucket.AVAILABLE: D("10.00")}
    assert balances(app, top) == {Bucket.AVAILABLE: D("1.00")}
    assert verify(app) == []


def test_partial_then_full_refund(app: Flask, chain) -> None:
    seller = chain[0]
    data = completed(order_data(seller))
    order_id = store_and_apply(app, data, T0 + timedelta(days=1))
    partial = refunded(data, "30.00", T0 + timedelta(days=2))  # half of line 1
    store_and_apply(app, partial, T0 + timedelta(days=2))
    assert [a for _, _, a in states(app, order_id)] == [D("7.00"), D("2.10"), D("0.70")]
    assert balances(app, seller) == {Bucket.HOLDING: D("7.00")}
    with app.app_context():
        kinds = list(
            db.session.scalars(
                select(LedgerEntry.kind)
                .where(LedgerEntry.distributor_id == seller)
                .order_by(LedgerEntry.id)
            )
        )
        assert kinds == ["accrual", "adjustment"]  # the refund is a delta, not an edit

    full = replace(partial, status="refunded", modified_at=T0 + timedelta(days=3))
    store_and_apply(app, full, T0 + timedelta(days=3))
    assert states(app, order_id) == [
        (1, CommissionState.REVERSED, D("0")),
        (2, CommissionState.REVERSED, D("0")),
        (3, CommissionState.REVERSED, D("0")),
    ]
    for who in chain:
        assert balances(app, who) == {}
    assert verify(app) == []


def pay_out(app: Flask, distributor_id: int, amount: str) -> None:
    """Withdraw ``amount`` to a new PayPal account; ops approve and pay it (which marks the
    available commissions paid)."""
    with app.app_context():
        ops = User(email=f"ops{distributor_id}@shop.example", role=Role.OPS)
        ops.set_password("irrelevant-123")
        db.session.add(ops)
        db.session.commit()
        account = withdrawals.add_account(
            distributor_id, PayoutMethod.PAYPAL, "Seller", f"seller{distributor_id}@example.com"
        )
        withdrawal = withdrawals.request_withdrawal(distributor_id, D(amount), account.id)
        withdrawals.approve(withdrawal.id, ops)
        withdrawals.pay(withdrawal.id, ops, "PP-1")


def test_refund_after_payout_is_carried_as_a_negative_adjustment(app: Flask, chain) -> None:
    seller = chain[0]
    data = completed(order_data(seller))
    order_id = store_and_apply(app, data, T0 + timedelta(days=30))  # window long passed
    assert states(app, order_id)[0] == (1, CommissionState.AVAILABLE, D("10.00"))
    pay_out(app, seller, "10.00")
    assert states(app, order_id)[0] == (1, CommissionState.PAID, D("10.00"))
    assert balances(app, seller) == {Bucket.PAID: D("10.00")}
    store_and_apply(app, refunded(data, "60.00", T0 + timedelta(days=31)), T0 + timedelta(days=31))
    assert balances(app, seller) == {Bucket.PAID: D("10.00"), Bucket.AVAILABLE: D("-6.00")}
    assert states(app, order_id)[0] == (1, CommissionState.PAID, D("4.00"))
    assert verify(app) == []


def test_the_same_delivery_three_times_books_once(app: Flask, chain) -> None:
    data = order_data(chain[0])
    for _ in range(3):
        store_and_apply(app, data, T0)
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3
        assert db.session.scalar(select(func.count(Commission.id))) == 3


def _per_order_books(app: Flask, order_id: int) -> dict[tuple[int, str], D]:
    with app.app_context():
        rows = db.session.execute(
            select(Commission.depth, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
            .join(Commission, Commission.id == LedgerEntry.commission_id)
            .where(Commission.order_id == order_id)
            .group_by(Commission.depth, LedgerEntry.bucket)
        )
        return {(depth, bucket): D(total) for depth, bucket, total in rows if D(total)}


def test_any_permutation_of_events_gives_the_same_final_books(app: Flask, chain) -> None:
    seller = chain[0]
    now = T0 + timedelta(days=3)
    finals = []
    for n, perm in enumerate(itertools.permutations(range(4))):
        base = order_data(seller, shop_order_id=f"P{n}")
        events = [
            base,
            completed(base, T0 + timedelta(hours=5)),
            refunded(completed(base, T0 + timedelta(hours=5)), "12.00", T0 + timedelta(hours=9)),
            replace(
                refunded(
                    completed(base, T0 + timedelta(hours=5)), "12.00", T0 + timedelta(hours=9)
                ),
                refunded_unallocated=D("8.00"),
                modified_at=T0 + timedelta(hours=12),
            ),
        ]
        order_id = None
        for i in perm:
            order_id = store_and_apply(app, events[i], now)
        finals.append((states(app, order_id), _per_order_books(app, order_id)))
    assert all(final == finals[0] for final in finals)
    # 120 − 12 − 8 = 100 → 10 % of 48 + 10 % of 40 … proportional: depth 1 earns 8.00
    assert finals[0][0][0] == (1, CommissionState.HOLDING, D("8.00"))
    assert verify(app) == []


def test_ledger_sums_equal_balances(app: Flask, chain) -> None:
    for n in range(5):
        data = completed(order_data(chain[0], shop_order_id=f"S{n}"))
        store_and_apply(app, data, T0 + timedelta(days=n * 3))
    with app.app_context():
        for who in chain:
            total = db.session.scalar(
                select(func.sum(LedgerEntry.amount)).where(LedgerEntry.distributor_id == who)
            )
            assert D(total) == sum(ledger.balances(who).values())
            assert D(total) > 0
    assert verify(app) == []


def test_plan_changes_never_reprice_an_existing_order(app: Flask, chain) -> None:
    data = order_data(chain[0])
    order_id = store_and_apply(app, data, T0)
    with app.app_context():
        plan = db.session.scalar(select(CommissionPlan))
        plan.rate_depth1 = D("50")
        db.session.add(
            PlanOverride(
                plan=plan, scope="product", target_id="P1", depth=1, kind="percent", value=D("90")
            )
        )
        db.session.commit()
    store_and_apply(app, completed(data), T0 + timedelta(days=1))
    assert states(app, order_id)[0][2] == D("10.00")
    new_order = store_and_apply(app, order_data(chain[0], shop_order_id="1002"), T0)
    assert states(app, new_order)[0][2] == D("74.00")  # 60 × 90 % + 40 × 50 %


def test_an_order_in_another_currency_is_held_not_converted(app: Flask, chain) -> None:
    order_id = store_and_apply(app, order_data(chain[0], currency="EUR"), T0)
    assert {s for _, s, _ in states(app, order_id)} == {CommissionState.ON_REVIEW}
    assert balances(app, chain[0]) == {}
    with app.app_context():
        reason = db.session.scalar(select(Commission.review_reason).where(Commission.depth == 1))
        assert "EUR" in reason and "USD" in reason and "would earn 10.00 EUR" in reason
    assert verify(app) == []


def test_unattributed_orders_earn_nothing(app: Flask, chain) -> None:
    order_id = store_and_apply(app, order_data(chain[0], attribution=None), T0)
    assert states(app, order_id) == []


def test_stale_copies_change_nothing(app: Flask, chain) -> None:
    data = completed(order_data(chain[0]), T0 + timedelta(days=2))
    with app.app_context():
        first = orders.store_order(data)
        stale = orders.store_order(replace(data, status="processing", modified_at=T0))
        assert first.changed and not stale.changed
        assert orders.find("woocommerce", "1001").status == "completed"


def test_parallel_runs_for_one_order_book_once(app: Flask, chain) -> None:
    with app.app_context():
        order_id = orders.store_order(order_data(chain[0])).order_id
    run = lambda: services.apply_order(order_id, T0)  # noqa: E731
    assert run_together(app, run, run, run, run) == []
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3
    assert balances(app, chain[0]) == {Bucket.PENDING: D("10.00")}
    assert verify(app) == []


# --- append-only ----------------------------------------------------------------------


def test_no_code_path_updates_or_deletes_ledger_entries(app: Flask, chain) -> None:
    """Record every statement of a full lifecycle: ledger rows are only ever inserted."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement.upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        data = completed(order_data(chain[0]))
        order_id = store_and_apply(app, order_data(chain[0]), T0)
        store_and_apply(app, data, T0 + timedelta(days=1))
        with app.app_context():
            services.mature_commissions(T0 + timedelta(days=9))
        pay_out(app, chain[0], "10.00")
        store_and_apply(
            app,
            replace(data, status="refunded", modified_at=T0 + timedelta(days=20)),
            T0 + timedelta(days=20),
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    touching = [s for s in statements if "LEDGER_ENTRIES" in s]
    assert any(s.startswith("INSERT") for s in touching)
    assert not [s for s in touching if s.startswith(("UPDATE", "DELETE"))]
    assert order_id and verify(app) == []


def test_orm_updates_and_deletes_of_entries_are_refused(app: Flask, chain) -> None:
    store_and_apply(app, order_data(chain[0]), T0)
    with app.app_context():
        entry = db.session.scalars(select(LedgerEntry)).first()
        entry.amount = D("999.00")
        with pytest.raises(AppendOnlyViolation):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.scalars(select(LedgerEntry)).first())
        with pytest.raises(AppendOnlyViolation):
            db.session.commit()
        db.session.rollback()
        with pytest.raises(AppendOnlyViolation):
            db.session.execute(sa.update(LedgerEntry).values(amount=0))
        db.session.rollback()


def test_the_database_refuses_sql_updates_and_deletes(app: Flask, chain) -> None:
    store_and_apply(app, order_data(chain[0]), T0)
    with app.app_context():
        for statement in ("UPDATE ledger_entries SET amount = 0", "DELETE FROM ledger_entries"):
            with (
                pytest.raises(sa.exc.DatabaseError, match="append-only"),
                db.engine.begin() as conn,
            ):
                conn.execute(sa.text(statement))
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 3


# --- CLI ------------------------------------------------------------------------------


def test_ledger_verify_command(app: Flask, chain) -> None:
    store_and_apply(app, order_data(chain[0]), T0)
    runner = app.test_cli_runner()
    ok = runner.invoke(cli, ["ledger", "verify"])
    assert ok.exit_code == 0 and "ledger verify: ok" in ok.output
    with app.app_context():  # a stray entry (appending is allowed) breaks the books
        commission_id = db.session.scalar(select(Commission.id).where(Commission.depth == 1))
        journal = ledger.Journal()
        journal.book(
            chain[0], Bucket.PENDING, D("0.01"), "USD", EntryKind.MANUAL, "oops", commission_id
        )
        journal.write()
        db.session.commit()
    bad = runner.invoke(cli, ["ledger", "verify"])
    assert bad.exit_code == 1
    assert f"commission {commission_id}: entries sum to 10.01, amount is 10.00" in bad.output
    assert bad.output.strip().splitlines()[-1] == "Error: ledger verify: 1 problem(s)"


def test_an_order_stored_without_its_commission_run_is_reported_and_swept(
    app: Flask, chain
) -> None:
    """A path that stores an order and commits without running its commissions (a bug, or
    a run that died after a commit of its own) leaves the order marked due: ``ledger
    verify`` names it once its grace is over, and the periodic sweep runs it."""
    with app.app_context():
        order_id = orders.store_order(order_data(chain[0])).order_id
        db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(cli, ["ledger", "verify"]).exit_code == 0  # within the grace
    late = runner.invoke(cli, ["ledger", "verify", "--grace", "0"])
    assert late.exit_code == 1
    assert f"order {order_id} (shop order 1001): stored " in late.output
    assert "its commissions never ran" in late.output
    with app.app_context():
        assert commission_jobs.apply_due_commissions() == 1
        assert commission_jobs.apply_due_commissions() == 0  # the run cleared the mark
    assert balances(app, chain[0]) == {Bucket.PENDING: D("10.00")}
    assert runner.invoke(cli, ["ledger", "verify", "--grace", "0"]).exit_code == 0
    bad = runner.invoke(cli, ["ledger", "verify", "--grace", "soon"])
    assert bad.exit_code == 2 and "'soon' is not a valid integer" in bad.output


def test_jobs_mature_command(app: Flask, chain) -> None:
    store_and_apply(app, completed(order_data(chain[0]), T0), T0)
    result = app.test_cli_runner().invoke(cli, ["jobs", "mature"])  # now ≫ T0 + 7 days
    assert result.exit_code == 0 and "matured 3 commission(s)" in result.output
    assert balances(app, chain[0]) == {Bucket.AVAILABLE: D("10.00")}


def test_per_bucket_balances_are_keyed_by_distributor(app: Flask, chain) -> None:
    store_and_apply(app, order_data(chain[0]), T0)
    totals = defaultdict(D)
    for who in chain:
        for bucket, amount in balances(app, who).items():
            totals[bucket] += amount
    assert totals == {Bucket.PENDING: D("14.00")}


def test_concurrent_deliveries_of_one_order_keep_the_newest_copy(app: Flask, chain) -> None:
    for n in range(3):
        base = order_data(chain[0], shop_order_id=f"C{n}")
        with app.app_context():
            orders.store_order(base)
        older = replace(base, modified_at=T0 + timedelta(hours=1), status="on-hold")
        newer = completed(base, T0 + timedelta(hours=2))
        errors = run_together(
            app, lambda o=older: orders.store_order(o), lambda o=newer: orders.store_order(o)
        )
        assert errors == []
        with app.app_context():
            stored = orders.find("woocommerce", f"C{n}")
            assert stored.status == "completed"
            assert [line.shop_line_id for line in stored.lines] == ["1", "2"]
            assert stored.net_total == D("100.00")


def test_completing_again_restarts_the_return_window(app: Flask, chain) -> None:
    data = order_data(chain[0])
    order_id = store_and_apply(app, completed(data, T0 + timedelta(days=1)), T0 + timedelta(days=1))
    reopened = replace(data, status="processing", modified_at=T0 + timedelta(days=2))
    store_and_apply(app, reopened, T0 + timedelta(days=2))
    assert states(app, order_id)[0][1] is CommissionState.PENDING
    again = completed(reopened, T0 + timedelta(days=20))
    store_and_apply(app, again, T0 + timedelta(days=20))
    assert states(app, order_id)[0][1] is CommissionState.HOLDING
    with app.app_context():
        hold = db.session.scalar(select(Commission.hold_until).where(Commission.depth == 1))
        assert hold == T0 + timedelta(days=27)
        assert services.mature_commissions(T0 + timedelta(days=26)) == 0
    assert verify(app) == []


def test_changing_the_shop_currency_does_not_hold_existing_orders(app: Flask, chain) -> None:
    order_id = store_and_apply(app, order_data(chain[0]), T0)
    with app.app_context():
        settings.update({"currency": "CNY"}, None)
        db.session.commit()
    store_and_apply(app, completed(order_data(chain[0])), T0 + timedelta(days=1))
    assert {s for _, s, _ in states(app, order_id)} == {CommissionState.HOLDING}
    new_order = store_and_apply(app, order_data(chain[0], shop_order_id="1002"), T0)
    assert {s for _, s, _ in states(app, new_order)} == {CommissionState.ON_REVIEW}
