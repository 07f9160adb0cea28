"""Batched commission runs (``apply_orders``): the same books as one order at a time, a
statement count that does not grow with the batch, and rows that survive the bulk path
exactly — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from portal import bulk
from portal.commissions import services
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    CommissionState,
    PlanOverride,
    PlanVersion,
)
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.guard import AppendOnlyViolation
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.orders import services as orders
from portal.orders.models import Order
from portal.orders.services import Attribution, LineData, OrderData
from tests import factories

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def chain(app: Flask, make_distributor: Callable[..., tuple[int, str]]) -> list[int]:
    """[seller, its parent, its grandparent]; a 10/3/1 % plan with a product override at
    depth 1 (percent) and a category override at depth 2 (fixed per unit), and a cap."""
    ids = factories.chain(
        make_distributor, "top@shop.example", "mid@shop.example", "seller@shop.example"
    )
    with app.app_context():
        factories.add_plan(
            "10",
            "3",
            "1",
            cap_percent=D("30"),
            overrides=[
                PlanOverride(
                    scope="product", target_id="P2", depth=1, kind="percent", value=D("12.5")
                ),
                PlanOverride(
                    scope="category", target_id="toys", depth=2, kind="fixed", value=D("0.7")
                ),
            ],
        )
    return ids[::-1]


def variety(seller: int, prefix: str) -> list[OrderData]:
    """Orders in every situation a run meets: pending, holding, available, refunded in part
    or in full, cancelled, bought by the seller or by its upline (risk flags), in another
    currency, not attributed."""
    lines = (
        LineData("1", "P1", 2, D("60.00"), ("books",)),
        LineData("2", "P2", 3, D("33.33"), ("toys",)),
        LineData("3", "P3", 1, D("0.99"), ("toys", "books")),
    )

    def order(n: int, **kw: Any) -> OrderData:
        at = T0 + timedelta(minutes=n)
        base: dict[str, Any] = dict(
            shop_order_id=f"{prefix}-{n}",
            status="processing",
            currency="USD",
            created_at=at,
            modified_at=at,
            lines=lines,
            customer_email=f"buyer{n}@example.com",
            attribution=Attribution(seller, "coupon", {"coupon": "SELLER"}),
        )
        base.update(kw)
        return OrderData(**base)

    done = {"status": "completed", "completed_at": T0 + timedelta(days=1)}
    return [
        order(1),
        order(2, **done),
        order(3, status="completed", completed_at=T0 - timedelta(days=30)),
        order(4, **done, refunded_unallocated=D("7.77")),
        order(5, lines=(replace(lines[0], refunded_total=D("60.00")), *lines[1:])),
        order(6, status="cancelled"),
        order(7, customer_email="seller@shop.example"),
        order(8, customer_email="top@shop.example"),
        order(9, currency="EUR"),
        order(10, attribution=None),
        order(11, lines=(LineData("1", "P9", 1, D("0.01")),)),
    ]


def later(data: OrderData) -> OrderData:
    """The next delivery of an order: completed, then a refund against its first line."""
    at = data.modified_at + timedelta(days=2)
    if data.status == "processing":
        return replace(data, status="completed", completed_at=at, modified_at=at)
    first, *rest = data.lines
    return replace(data, modified_at=at, lines=(replace(first, refunded_total=D("10.00")), *rest))


def books(app: Flask, prefix: str) -> dict[str, Any]:
    """Per order of the prefix (by its number): commissions, their events and entries."""
    with app.app_context():
        result: dict[str, Any] = {}
        for order in db.session.scalars(
            select(Order).where(Order.shop_order_id.like(f"{prefix}-%")).order_by(Order.id)
        ):
            commissions = []
            for c in db.session.scalars(
                select(Commission).where(Commission.order_id == order.id).order_by(Commission.depth)
            ):
                events = db.session.execute(
                    select(
                        CommissionEvent.from_state,
                        CommissionEvent.to_state,
                        CommissionEvent.amount,
                        CommissionEvent.reason,
                    )
                    .where(CommissionEvent.commission_id == c.id)
                    .order_by(CommissionEvent.id)
                ).all()
                entries = db.session.execute(
                    select(LedgerEntry.bucket, LedgerEntry.amount, LedgerEntry.kind)
                    .where(LedgerEntry.commission_id == c.id)
                    .order_by(LedgerEntry.id)
                ).all()
                commissions.append(
                    (
                        c.beneficiary_id,
                        c.depth,
                        c.state,
                        c.amount,
                        c.basis,
                        c.rate,
                        c.fixed,
                        c.rule_id,
                        c.zero_reason,
                        c.review_reason,
                        c.hold_until,
                        c.seller_id,
                        [tuple(e) for e in events],
                        [tuple(e) for e in entries],
                    )
                )
            context = order.commission_context
            result[order.shop_order_id.split("-", 1)[1]] = (context, commissions)
        return result


def store(app: Flask, batch: list[OrderData]) -> list[int]:
    with app.app_context():
        return [orders.store_order(data).order_id for data in batch]


def test_a_batch_books_exactly_what_one_order_at_a_time_books(app: Flask, chain) -> None:
    seller = chain[0]
    single, batched = variety(seller, "one"), variety(seller, "many")
    now = T0 + timedelta(days=3)
    single_ids, batch_ids = store(app, single), store(app, batched)
    with app.app_context():
        for order_id in single_ids:
            services.apply_order(order_id, now)
        applied = services.apply_orders(list(reversed(batch_ids)), now)
        rows = db.session.execute(
            select(Commission.id, Commission.state, Commission.amount, Commission.hold_until)
            .where(Commission.order_id.in_(batch_ids))
            .order_by(Commission.id)
        ).all()
    assert sorted((a.id, a.state, a.amount, a.hold_until) for a in applied) == [
        tuple(row) for row in rows
    ]
    first = books(app, "one")
    assert first == books(app, "many")
    states = {c[2] for _, commissions in first.values() for c in commissions}
    assert states >= {
        CommissionState.PENDING,
        CommissionState.HOLDING,
        CommissionState.AVAILABLE,
        CommissionState.ON_REVIEW,
        CommissionState.REVERSED,
    }

    # the next deliveries, then maturation: existing commissions move the same way
    store(app, [later(data) for data in single])
    store(app, [later(data) for data in batched])
    now += timedelta(days=3)
    with app.app_context():
        for order_id in single_ids:
            services.apply_order(order_id, now)
        services.apply_orders(batch_ids, now)
        assert services.mature_commissions(now + timedelta(days=30)) > 0
        assert ledger.verify() == []
    assert books(app, "one") == books(app, "many")


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    with app.app_context():
        target = db.engine
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(target, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", seen)


def test_statements_per_batch_do_not_grow_with_the_batch(app: Flask, chain) -> None:
    """New orders and their re-runs: one statement per step, whatever the batch size."""
    seller = chain[0]
    plain = variety(seller, "x")[:3]  # pending, holding, available
    small = store(app, [replace(data, shop_order_id=f"s{n}") for n, data in enumerate(plain)])
    large = store(app, [replace(data, shop_order_id=f"l{n}") for n, data in enumerate(plain * 10)])
    with app.app_context():  # the plan's first order stores its plan version, once
        services.apply_orders(store(app, [replace(plain[0], shop_order_id="first")]), T0)
    counts = []
    for ids in (small, large, small, large):
        with counting(app) as statements, app.app_context():
            services.apply_orders(ids, T0)
        counts.append(len(statements))
    assert counts[0] == counts[1]  # first runs
    assert counts[2] == counts[3]  # re-runs: nothing changes, nothing is written
    assert counts[2] < counts[0]


def test_many_distributors_cost_no_statement_each(app: Flask, chain, make_distributor) -> None:
    """Sellers all over the tree: their uplines, users and levels load per level of the
    tree, not per seller, and each order still pays its own upline."""
    seller, mid, top = chain
    others = [make_distributor(f"d{n}@shop.example", parent_id=top)[0] for n in range(6)]
    others += [make_distributor(f"e{n}@shop.example", parent_id=others[n])[0] for n in range(6)]
    plain = variety(seller, "x")[0]
    small = store(app, [replace(plain, shop_order_id="s1")])
    everyone = [seller, mid, top, *others]
    large = store(
        app,
        [
            replace(plain, shop_order_id=f"l{n}", attribution=Attribution(d, "coupon", {}))
            for n, d in enumerate(everyone)
        ],
    )
    counts = []
    for ids in (small, large):
        with counting(app) as statements, app.app_context():
            services.apply_orders(ids, T0)
        counts.append(len(statements))
    assert counts[1] <= counts[0]  # fewer when the sellers are each other's uplines
    with app.app_context():
        paid = db.session.execute(
            select(Order.distributor_id, Commission.depth, Commission.beneficiary_id)
            .join(Commission, Commission.order_id == Order.id)
            .where(Order.id.in_(large))
        ).all()
        parents = dict(db.session.execute(select(Distributor.id, Distributor.parent_id)).all())
    for seller_id, depth, beneficiary in paid:
        expected = seller_id
        for _ in range(depth - 1):
            expected = parents[expected]
        assert beneficiary == expected
    assert len(paid) == 3 * 7 + 2 * 7 + 1  # seller and e*: 3 deep; mid and d*: 2; top: 1


TRICKY = [
    'say "hi"',
    "back\\slash",
    "{braces}",
    "comma, here",
    " leading and trailing ",
    "NULL",
    "null",
    "",
    "→ ✓ 分销",
    "tab\there",
]


def test_bulk_rows_survive_the_trip_exactly(app: Flask, chain) -> None:
    """Strings that need quoting in an array, exact decimals, aware timestamps, NULLs; a
    batch with varying columns, one where every column repeats, one row."""
    seller = chain[0]
    at = datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=UTC)
    amounts = [D("0.0001"), D("-98765.4321"), D("1.10"), D("0")]
    with app.app_context():
        journal = ledger.Journal(at)
        for n, reference in enumerate(TRICKY):
            journal.rows.append(
                {
                    "distributor_id": seller,
                    "bucket": Bucket.AVAILABLE.value,
                    "amount": amounts[n % len(amounts)],
                    "currency": "USD",
                    "kind": EntryKind.MANUAL.value,
                    "reference": reference,
                    "commission_id": None,
                    "created_at": at + timedelta(microseconds=-n),
                }
            )
        journal.write()
        for _ in range(2):  # every column the same in every row
            journal.book(seller, Bucket.PENDING, D("2.5"), "USD", EntryKind.BONUS, "same")
        journal.write()
        journal.book(seller, Bucket.HOLDING, D("3.25"), "JPY", EntryKind.BONUS, TRICKY[0])
        journal.write()
        db.session.commit()
        got = db.session.execute(
            select(
                LedgerEntry.bucket,
                LedgerEntry.amount,
                LedgerEntry.currency,
                LedgerEntry.kind,
                LedgerEntry.reference,
                LedgerEntry.commission_id,
                LedgerEntry.created_at,
            ).order_by(LedgerEntry.id)
        ).all()
        ids = db.session.scalars(select(LedgerEntry.id)).all()
        picked = db.session.scalars(
            select(LedgerEntry.id).where(bulk.among(LedgerEntry.id, ids[:3]))
        ).all()
    expected = [
        ("available", amounts[n % 4], "USD", "manual", ref, None, at - timedelta(microseconds=n))
        for n, ref in enumerate(TRICKY)
    ]
    expected += [("pending", D("2.5"), "USD", "bonus", "same", None, at)] * 2
    expected += [("holding", D("3.25"), "JPY", "bonus", TRICKY[0], None, at)]
    assert [tuple(row) for row in got] == expected
    assert sorted(picked) == sorted(ids[:3])


def test_update_rows_stores_json_and_numbers_exactly(app: Flask, chain) -> None:
    """The run's one UPDATE for its orders: JSON documents full of characters that need
    escaping, and counters, each landing on its own row (no row left out or mixed up)."""
    seller = chain[0]
    ids = store(
        app, [replace(data, shop_order_id=f"u{n}") for n, data in enumerate(variety(seller, "u"))]
    )
    documents = {
        order_id: {"n": n, "text": TRICKY[n % len(TRICKY)], "nested": [{"k": TRICKY}, None, 1.5]}
        for n, order_id in enumerate(ids)
    }
    with app.app_context():
        rows = [
            {"id": order_id, "commission_runs": 40 + n, "commission_context": documents[order_id]}
            for n, order_id in enumerate(ids)
        ]
        bulk.update_rows(Order.__table__, "id", rows[1:])  # the first one stays untouched
        db.session.commit()
        got = db.session.execute(
            select(Order.id, Order.commission_runs, Order.commission_context).order_by(Order.id)
        ).all()
    assert [tuple(row) for row in got] == [(ids[0], 0, None)] + [
        (order_id, 40 + n, documents[order_id]) for n, order_id in enumerate(ids) if n
    ]


def test_orders_share_one_plan_version_and_a_plan_change_makes_another(app: Flask, chain) -> None:
    """A context names its plan version; the same plan content is stored once, whichever
    run froze it; an old order keeps earning under the version it froze."""
    seller = chain[0]

    def depth1(order_id: int) -> D:
        return db.session.scalar(
            select(Commission.amount).where(Commission.order_id == order_id, Commission.depth == 1)
        )

    first = store(app, variety(seller, "a")[:3])
    with app.app_context():
        services.apply_orders(first[:2], T0)
        services.apply_order(first[2], T0)
        contexts = [db.session.get(Order, order_id).commission_context for order_id in first]
        assert {ctx["plan_version"] for ctx in contexts} == {contexts[0]["plan_version"]}
        assert all("plan" not in ctx for ctx in contexts)
        version = db.session.get(PlanVersion, contexts[0]["plan_version"])
        assert version.plan["rates"] == ["10.0000", "3.0000", "1.0000"]
        assert depth1(first[0]) == D("10.27")  # 10 % of 120 + 12.5 % of 33.33 + 10 % of 0.99

        plan = db.session.scalar(select(CommissionPlan))
        plan.rate_depth1 = D("20")
        db.session.commit()
    second = store(app, variety(seller, "b")[:1])
    store(app, [later(variety(seller, "a")[0])])  # the old order changes: same version
    with app.app_context():
        services.apply_orders([first[0], *second], T0)
        changed = db.session.get(Order, second[0]).commission_context["plan_version"]
        assert changed != contexts[0]["plan_version"]
        assert db.session.get(Order, first[0]).commission_context == contexts[0]
        assert depth1(first[0]) == D("10.27")  # completed, not re-priced at 20 %
        assert depth1(second[0]) == D("16.36")  # 20 % of 120 + 12.5 % of 33.33 + 20 % of 0.99

        plan = db.session.scalar(select(CommissionPlan))
        plan.rate_depth1 = D("10")  # back as it was: the first version again
        db.session.commit()
    third = store(app, variety(seller, "c")[:1])
    with app.app_context():
        services.apply_orders(third, T0)
        assert (
            db.session.get(Order, third[0]).commission_context["plan_version"]
            == contexts[0]["plan_version"]
        )
        assert db.session.scalar(select(func.count()).select_from(PlanVersion)) == 2
        with pytest.raises(AppendOnlyViolation):
            db.session.get(PlanVersion, changed).digest = "0" * 64
            db.session.flush()
        db.session.rollback()
        assert ledger.verify() == []


def test_network_requirement_reads_the_uplines_last_sales_once_per_batch(app: Flask, chain) -> None:
    """A plan that pays depth 2+ only to uplines with an own sale in the last 10 days: the
    batch freezes each order's uplines' last sales as one order at a time does, and (on
    PostgreSQL) reads them with one query for the whole batch."""
    seller, mid, _top = chain
    with app.app_context():
        db.session.scalar(select(CommissionPlan)).network_sale_days = 10
        db.session.commit()
    store(app, [variety(mid, "own")[0]])  # mid's own sale at T0 + 1 minute; top has none
    days = [0, 5, 9, 11, 30]

    def dated(prefix: str) -> list[OrderData]:
        base = variety(seller, prefix)[0]
        return [
            replace(base, shop_order_id=f"{prefix}-{d}", created_at=at, modified_at=at)
            for d in days
            for at in [T0 + timedelta(days=d, minutes=2)]
        ]

    single, batched = store(app, dated("one")), store(app, dated("many"))
    now = T0 + timedelta(days=40)
    with app.app_context():
        for order_id in single:
            services.apply_order(order_id, now)
    with counting(app) as statements, app.app_context():
        services.apply_orders(batched, now)
    assert books(app, "one") == books(app, "many")
    with app.app_context():
        reasons = db.session.execute(
            select(Commission.depth, Commission.zero_reason)
            .where(Commission.order_id.in_(batched), Commission.depth > 1)
            .order_by(Commission.order_id, Commission.depth)
        ).all()
        postgresql = bulk.on_postgresql()
    recent, none = (2, None), (2, "no_recent_sale")
    top = (3, "no_recent_sale")
    assert [tuple(r) for r in reasons] == [recent, top] * 3 + [none, top] * 2
    reads = [s for s in statements if "max(orders.created_at_shop)" in s]
    assert len(reads) == (1 if postgresql else len(days))
