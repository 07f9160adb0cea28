"""The report rollups stay exact: after any mix of writes they equal a recomputation
from the base tables, and a rolled-back unit of work leaves both as they were."""

from __future__ import annotations

import csv
import io
import random
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update

from portal.accounts.models import Role, User
from portal.cli import cli
from portal.commissions import services as commissions
from portal.commissions.models import Commission, CommissionState
from portal.commissions.reassign import reassign
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.links.models import Click
from portal.orders import services as orders
from portal.orders.models import VOID_STATUSES, Order
from portal.orders.services import Attribution, LineData, OrderData
from portal.periods import Period
from portal.reports import rollups
from portal.reports import services as reports
from portal.reports.models import EVERYONE, STATE_COLUMNS, ClickDay, Rollup, RollupDue
from portal.risk import review
from portal.risk.models import FlagStatus, RiskFlag
from portal.risk.qualifying import PAID_STATUSES
from portal.timeutil import utcnow
from tests.integration.test_reports import direct
from tests.money import signed_in

NOW = utcnow()
DAY = NOW.date()
ACTIONS = ("new", "new", "new", "again", "refund", "status", "trash", "reassign", "hold")
ACTIONS += ("decide", "sql")
VALUES = ("orders", "sales", "qualifying_orders", "qualifying_sales", *STATE_COLUMNS)


def expected_rollups() -> dict[tuple[str, date, int], tuple[Any, ...]]:
    """Every rollup row recomputed in Python from the orders, commissions and flags (rows
    that are all zero left out)."""
    held = {
        f.order_id
        for f in db.session.scalars(select(RiskFlag))
        if f.status in (FlagStatus.OPEN, FlagStatus.REJECTED)
    }
    every = db.session.scalars(select(Commission)).all()
    held |= {c.order_id for c in every if c.state == CommissionState.ON_REVIEW}
    days: dict[tuple[date, int], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(VALUES, 0))
    for o in db.session.scalars(select(Order)):
        if o.distributor_id is None or o.status in VOID_STATUSES:
            continue
        row = days[(o.created_at_shop.date(), o.distributor_id)]
        row["orders"] += 1
        row["sales"] += o.net_total
        if o.status in PAID_STATUSES and o.net_total > 0 and o.id not in held:
            row["qualifying_orders"] += 1
            row["qualifying_sales"] += o.net_total
    for c in every:
        days[(c.order_created_at.date(), c.beneficiary_id)][c.state.value] += c.amount
    found: dict[tuple[str, date, int], dict[str, Any]] = defaultdict(
        lambda: dict.fromkeys(VALUES, 0)
    )
    for (day, who), row in days.items():
        for span in ("day", "month", "year"):
            for target in (who, EVERYONE):
                into = found[(span, rollups.start_of(span, day), target)]
                for name in VALUES:
                    into[name] += row[name]
    return {
        key: tuple(D(row[name]) for name in VALUES)
        for key, row in found.items()
        if any(row.values())
    }


def stored_rollups() -> dict[tuple[str, date, int], tuple[Any, ...]]:
    found = {}
    for row in db.session.scalars(select(Rollup)):
        figures = tuple(D(getattr(row, name)) for name in VALUES)
        if any(figures):
            found[(row.span, row.start, row.distributor_id)] = figures
    return found


def assert_exact(app: Flask) -> None:
    """The rollups equal the recomputation, nothing is left due, and the report of a few
    ranges (a year tile, month tiles, single days) equals the direct one."""
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(RollupDue))
        assert stored_rollups() == expected_rollups()
        ranges = [(DAY - timedelta(days=n - 1), DAY) for n in (1, 7, 30, 90, 366)] + [
            (date(DAY.year - 1, 1, 1), date(DAY.year - 1, 12, 31))
        ]
        for first, last in ranges:
            period = Period(
                datetime.combine(first, time(), UTC),
                datetime.combine(last + timedelta(days=1), time(), UTC),
            )
            with app.test_request_context():
                expected, export = direct(period)
                assert reports.report(period) == expected, (first, last)
                assert list(reports.export_rows(period)) == export, (first, last)


def copy(
    shop_order_id: str,
    seller: int,
    total: str,
    status: str,
    days_ago: int,
    version: int,
    refunded: str = "0",
) -> OrderData:
    at = NOW - timedelta(days=days_ago, hours=days_ago % 5)
    return OrderData(
        shop_order_id=shop_order_id,
        status=status,
        currency="USD",
        created_at=at,
        modified_at=at + timedelta(minutes=version),
        completed_at=at if status == "completed" else None,
        lines=(LineData("1", "P1", 1, D(total), refunded_total=D(refunded)),),
        attribution=Attribution(seller, "coupon", {"matched": "X"}),
    )


def deliver(batch: list[OrderData]) -> None:
    """What the intake does with a batch: store it and run the commissions of the orders it
    changed, in one unit of work."""
    stored = orders.store_orders(batch)
    changed = sorted({s.order_id for s in stored if s.changed})
    if changed:
        commissions.run_orders(changed)
    db.session.commit()


def test_rollups_equal_a_recomputation_after_a_random_mix(
    app: Flask, plan, make_user, make_distributor
) -> None:
    """New orders (up to two years back), same-copy re-deliveries, refunds, status
    changes, trashing, re-assignments, risk holds released or rejected, maturing and
    payouts, plain Core and SQL writes: the rollups and every report follow exactly."""
    rng = random.Random(18)
    top, _ = make_distributor("top@shop.example", name="Top")
    people = [top]
    codes = {}
    for n in range(7):
        who, code = make_distributor(
            f"d{n}@shop.example", parent_id=rng.choice(people), name=f"D{n}"
        )
        people.append(who)
        codes[who] = code
    ops = make_user("ops@shop.example", Role.OPS)
    sent: dict[str, OrderData] = {}
    versions: dict[str, int] = defaultdict(int)

    def newer(key: str, **changes: Any) -> OrderData:
        versions[key] += 1
        old = sent[key]
        lines = old.lines
        if "refunded" in changes:
            lines = (LineData("1", "P1", 1, lines[0].total, refunded_total=changes["refunded"]),)
        data = OrderData(
            shop_order_id=key,
            status=changes.get("status", old.status),
            currency="USD",
            created_at=old.created_at,
            modified_at=old.created_at + timedelta(minutes=versions[key]),
            completed_at=old.completed_at,
            lines=lines,
            attribution=old.attribution,
        )
        sent[key] = data
        return data

    for step in range(60):
        with app.app_context():
            action = rng.choice(ACTIONS)
            keys = sorted(sent)
            if action == "new" or not keys:
                batch = []
                for _ in range(rng.randint(1, 4)):
                    key = str(len(sent) + 1)
                    status = rng.choice(["processing", "completed", "pending", "on-hold"])
                    days_ago = rng.choice([0, 0, 1, 3, 29, 31, 89, 200, 365, 400, 700])
                    sent[key] = copy(
                        key,
                        rng.choice(people),
                        f"{rng.randint(1, 300)}.{rng.randint(0, 99)}",
                        status,
                        days_ago,
                        0,
                    )
                    batch.append(sent[key])
                deliver(batch)
            elif action == "again":  # the same copy delivered again, alone and in a batch
                key = rng.choice(keys)
                deliver([sent[key], sent[key]])
            elif action == "refund":
                key = rng.choice(keys)
                total = sent[key].lines[0].total
                deliver(
                    [newer(key, refunded=(total * D(rng.choice(["0.3", "1"]))).quantize(D("0.01")))]
                )
            elif action == "status":
                key = rng.choice(keys)
                status = rng.choice(["completed", "processing", "cancelled", "refunded"])
                deliver([newer(key, status=status)])
            elif action == "trash":
                order = orders.find("woocommerce", rng.choice(keys))
                orders.trash(order)
                commissions.run_orders([order.id])
                db.session.commit()
            elif action == "reassign":
                order = orders.find("woocommerce", rng.choice(keys))
                target = rng.choice([p for p in people if p != top])
                if order.distributor_id != target:
                    reassign(order.id, codes[target], "moved", db.session.get(User, ops))
            elif action == "hold":  # a risk rule holds an order: its commissions on review
                order = orders.find("woocommerce", rng.choice(keys))
                if order.distributor_id and not db.session.scalar(
                    select(RiskFlag.id).where(RiskFlag.order_id == order.id)
                ):
                    db.session.add(
                        RiskFlag(
                            order_id=order.id,
                            distributor_id=order.distributor_id,
                            rule="same_device",
                            evidence={},
                        )
                    )
                    commissions.run_orders([order.id])
                    db.session.commit()
            elif action == "decide":
                flagged = db.session.scalar(
                    select(RiskFlag.order_id).where(RiskFlag.status == FlagStatus.OPEN).limit(1)
                )
                if flagged:
                    release = rng.random() < 0.5
                    review.decide(flagged, db.session.get(User, ops), release, "checked")
            elif action == "sql":  # a Core statement and raw SQL, past the ORM
                key = rng.choice(keys)
                db.session.execute(
                    update(Order)
                    .where(Order.shop_order_id == key)
                    .values(net_total=Order.net_total + 1)
                )
                db.session.execute(
                    text("UPDATE commissions SET state = 'paid' WHERE state = 'available'")
                )
                db.session.commit()
        if step % 20 == 19:
            assert_exact(app)
    with app.app_context():
        commissions.mature_commissions(NOW + timedelta(days=60))
        for who in people:
            commissions.mark_paid(who, "payout")
        db.session.commit()
    assert_exact(app)
    with app.app_context():  # and a rebuild gives the same rows
        before = stored_rollups()
        rollups.rebuild(db.session)
        db.session.commit()
        assert stored_rollups() == before


def test_a_rolled_back_unit_of_work_leaves_rollups_as_they_were(
    app: Flask, plan, make_distributor
) -> None:
    seller, _ = make_distributor("s@shop.example")
    with app.app_context():
        deliver([copy("1", seller, "100.00", "processing", 0, 0)])
        before = stored_rollups()
        # Stored and run, then the unit of work fails before its commit.
        stored = orders.store_orders([copy("2", seller, "50.00", "processing", 0, 0)])
        commissions.run_orders([stored[0].order_id])
        db.session.rollback()
        assert stored_rollups() == before == expected_rollups()
        # The commit itself fails (after the rollups were settled): both roll back.
        stored = orders.store_orders([copy("3", seller, "70.00", "completed", 1, 0)])
        commissions.run_orders([stored[0].order_id])
        db.session.add(Distributor(code="BROKEN"))  # NOT NULL columns missing
        with pytest.raises(Exception):  # noqa: B017 - whichever error the database raises
            db.session.commit()
        db.session.rollback()
        assert stored_rollups() == before == expected_rollups()
        assert not db.session.scalar(select(func.count()).select_from(RollupDue))


def test_writes_outside_the_session_are_settled_by_the_next_commit(
    app: Flask, plan, make_distributor
) -> None:
    """A connection that commits past the session (a script, psql) leaves its keys due;
    the next session commit that writes an order, a commission or a flag recomputes them
    (a commit that writes none of them reads nothing: a click, a page view)."""
    seller, _ = make_distributor("s@shop.example")
    with app.app_context():
        deliver([copy("1", seller, "100.00", "processing", 0, 0)])
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE orders SET status = 'cancelled'"))
        assert db.session.scalar(select(func.count()).select_from(RollupDue))
        deliver([copy("2", seller, "50.00", "processing", 0, 0)])
        assert stored_rollups() == expected_rollups()
        assert not db.session.scalar(select(func.count()).select_from(RollupDue))


def test_the_csv_equals_the_recomputation(app: Flask, plan, make_user, make_distributor) -> None:
    make_user("ops@shop.example", Role.OPS)
    sellers = [make_distributor(f"s{n}@shop.example", name=f"S{n}")[0] for n in range(4)]
    with app.app_context():
        deliver(
            [
                copy(str(n), sellers[n % 4], f"{10 + n * 7}.25", "completed", n * 9, 0)
                for n in range(20)
            ]
        )
    first, last = DAY - timedelta(days=89), DAY
    export = signed_in(app, "ops@shop.example").get(
        f"/admin/reports/distributors.csv?from={first}&to={last}"
    )
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    period = Period(
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    with app.test_request_context():
        _, expected = direct(period)
    assert [r[:4] for r in rows[1:]] == [
        [e.code, e.name, e.level or "", str(e.orders)] for e in expected
    ]
    assert [(D(r[4]), D(r[5])) for r in rows[1:]] == [(e.sales, e.commission) for e in expected]


def test_concurrent_commits_on_one_key_stay_exact(app: Flask, plan, make_distributor) -> None:
    """Two intakes selling for one distributor on one day commit at the same moment: the
    second recomputes the key after the first committed, so neither change is lost."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
    seller, _ = make_distributor("s@shop.example")
    child, _ = make_distributor("c@shop.example", parent_id=seller)
    errors: list[BaseException] = []

    def sell(keys: list[str], barrier: threading.Barrier) -> None:
        try:
            with app.app_context():
                batch = [copy(k, child, f"{10 + len(k)}.50", "processing", 0, 0) for k in keys]
                barrier.wait()
                deliver(batch)
        except BaseException as exc:  # reported below
            errors.append(exc)

    for round_ in range(5):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(
                target=sell, args=([f"{round_}-{side}-{n}" for n in range(3)], barrier)
            )
            for side in ("a", "b")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    with app.app_context():
        assert stored_rollups() == expected_rollups()
        assert (
            db.session.scalar(
                select(func.sum(Rollup.orders)).where(
                    Rollup.span == "day", Rollup.distributor_id == EVERYONE
                )
            )
            == 30
        )


def test_clicks_of_closed_days_are_counted_once_and_reopened_by_a_late_click(
    app: Flask, make_distributor
) -> None:
    seller, _ = make_distributor("s@shop.example")

    def click(days_ago: int, n: int) -> None:
        at = NOW - timedelta(days=days_ago)
        db.session.add_all(
            Click(distributor_id=seller, visitor_hash=f"{days_ago}-{k}", created_at=at)
            for k in range(n)
        )
        db.session.commit()

    def shown(days: int) -> int:
        period = Period(
            datetime.combine(DAY - timedelta(days=days - 1), time(), UTC),
            datetime.combine(DAY + timedelta(days=1), time(), UTC),
        )
        return reports.report(period).kpis.clicks

    with app.app_context():
        for days_ago, n in ((0, 2), (1, 3), (5, 1), (40, 4)):
            click(days_ago, n)
        assert shown(30) == 6 and shown(60) == 10  # nothing closed: all counted live
        assert rollups.close_past_click_days() == 400
        assert rollups.close_past_click_days() == 0  # closed once
        closed = dict(db.session.execute(select(ClickDay.day, ClickDay.clicks)).all())
        assert closed[DAY - timedelta(days=1)] == 3 and DAY not in closed
        assert shown(30) == 6 and shown(60) == 10
        click(5, 2)  # written into a closed day: the day is counted live again
        assert DAY - timedelta(days=5) not in set(db.session.scalars(select(ClickDay.day)))
        assert shown(30) == 8 and shown(60) == 12
        db.session.execute(delete(Click).where(Click.visitor_hash.like("40-%")))
        db.session.commit()
        assert shown(60) == 8
        rollups.close_past_click_days()
        assert shown(60) == 8 and shown(1) == 2


def test_portal_reports_rebuild_recomputes_everything(app: Flask, plan, make_distributor) -> None:
    seller, _ = make_distributor("s@shop.example")
    with app.app_context():
        deliver([copy(str(n), seller, "20.00", "completed", n * 40, 0) for n in range(5)])
        db.session.add(
            Click(distributor_id=seller, visitor_hash="x", created_at=NOW - timedelta(days=3))
        )
        db.session.commit()
        with db.engine.begin() as conn:  # rows gone wrong (no trigger watches the rollups)
            conn.execute(text("UPDATE report_rollups SET sales = 0"))
            conn.execute(text("DELETE FROM report_rollups WHERE span = 'year'"))
    result = app.test_cli_runner().invoke(cli, ["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "reports rebuild: 5 distributor day(s)" in result.output
    with app.app_context():
        assert stored_rollups() == expected_rollups()
        assert db.session.get(ClickDay, DAY - timedelta(days=3)).clicks == 1
