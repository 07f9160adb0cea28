"""Bulk re-assignment (issue #18 item 7): 10,000 orders moved to another distributor.

In an EMPTY PostgreSQL database the bench makes two three-level chains (top ← middle ←
seller, a 10 / 5 / 2 % plan) and 10,000 completed two-line orders sold by the first
seller, their commissions run and available; the seller then withdraws part of it and is
paid, so some commissions are paid before they move. Each round re-assigns every order
to the other seller with :func:`portal.commissions.reassign.reassign_many` (the old chain's
commissions reversed, the paid ones carried as negatives, the new chain credited, every
order audited), alternating direction; timed with its SQL statements. For scale,
``--single`` orders (default 200) are first re-assigned one at a time through
:func:`~portal.commissions.reassign.reassign` (what the admin page does for one order).
Median of the rounds, with the machine's load; ``ledger verify`` at the end::

    dropdb --if-exists -h 127.0.0.1 -U postgres portal_reassign_bench
    createdb -h 127.0.0.1 -U postgres portal_reassign_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_reassign_bench \\
        python bench/reassign.py [--orders 10000] [--rounds 3] [--single 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from centre import timed
from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.accounts.models import Role, User
from portal.commissions.models import CommissionPlan
from portal.commissions.reassign import reassign, reassign_many
from portal.commissions.services import apply_orders
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders.models import Order, OrderLine
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import PayoutMethod

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CODES = ("BENCHRA1", "BENCHRB1")  # the two sellers


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_app() -> Flask:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to an empty PostgreSQL database")
    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": ""})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        if db.session.scalar(sa.text("SELECT count(*) FROM orders")):
            sys.exit("the database has data: use an empty one")
    return app


def _distributor(email: str, code: str, parent_id: int | None) -> int:
    user = User(email=email, role=Role.DISTRIBUTOR)
    user.set_password("bench-pass-123456")
    distributor = Distributor(
        user=user,
        code=code,
        display_name=code,
        status=DistributorStatus.ACTIVE,
        role=DistributorRole.AFFILIATE,
        parent_id=parent_id,
        joined_at=T0,
    )
    db.session.add(distributor)
    db.session.flush()
    return distributor.id


def seed(app: Flask, count: int) -> tuple[int, int]:
    """The chains, the orders and their commissions; (seller A, ops user id)."""
    with app.app_context():
        db.session.add(
            CommissionPlan(
                role="affiliate",
                max_depth=3,
                rate_depth1=Decimal(10),
                rate_depth2=Decimal(5),
                rate_depth3=Decimal(2),
            )
        )
        sellers = []
        for side, code in zip("AB", CODES, strict=True):
            top = _distributor(f"top{side}@bench.example", f"BENCHT{side}1", None)
            middle = _distributor(f"mid{side}@bench.example", f"BENCHM{side}1", top)
            sellers.append(_distributor(f"seller{side}@bench.example", code, middle))
        ops = User(email="ops@bench.example", role=Role.OPS)
        ops.set_password("bench-pass-123456")
        db.session.add(ops)
        db.session.flush()
        ops_id = ops.id
        ids = db.session.scalars(
            sa.insert(Order).returning(Order.id),
            [
                {
                    "shop_order_id": str(10_000 + n),
                    "number": str(10_000 + n),
                    "status": "completed",
                    "currency": "USD",
                    "customer_email": f"buyer{n % 997}@example.com",
                    "net_total": Decimal("100.00"),
                    "created_at_shop": T0,
                    "modified_at_shop": T0,
                    "completed_at": T0,
                    "distributor_id": sellers[0],
                    "attribution_method": "coupon",
                    "attribution_evidence": {"coupon": CODES[0]},
                }
                for n in range(count)
            ],
        ).all()
        db.session.execute(
            sa.insert(OrderLine),
            [
                {
                    "order_id": order_id,
                    "shop_line_id": str(k),
                    "product_id": f"P{k}",
                    "category_ids": [],
                    "qty": 1,
                    "total": Decimal("60.00") if k == 1 else Decimal("40.00"),
                }
                for order_id in ids
                for k in (1, 2)
            ],
        )
        db.session.commit()
        for start in range(0, len(ids), 1000):
            apply_orders(ids[start : start + 1000])
        account = withdrawals.add_account(
            sellers[0], PayoutMethod.PAYPAL, "Bench A", "a@bench.example", None
        ).id
        paid = withdrawals.request_withdrawal(sellers[0], Decimal("500.00"), account).id
        actor = db.session.get(User, ops_id)
        withdrawals.approve(paid, actor)
        withdrawals.pay(paid, db.session.get(User, ops_id), "BENCH-PAID")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        return sellers[0], ops_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=200)
    args = parser.parse_args()
    app = bench_app()
    print(f"seeding {args.orders:,} orders …   load {load()}", flush=True)
    seller, ops_id = seed(app, args.orders)
    with app.app_context():
        ids = list(db.session.scalars(sa.select(Order.id).order_by(Order.id)))

    if args.single:
        # one at a time to B and back, so the rounds start with every order at A
        def one_by_one(code: str) -> None:
            actor = db.session.get(User, ops_id)
            for order_id in ids[: args.single]:
                reassign(order_id, code, "bench: one at a time", actor)

        took, statements, _ = timed(app, lambda: one_by_one(CODES[1]))
        print(
            f"one at a time: {args.single} orders in {took:.1f} s = "
            f"{args.single / took:.0f} orders/s, {statements / args.single:.1f} statements "
            f"per order   load {load()}",
            flush=True,
        )
        timed(app, lambda: one_by_one(CODES[0]))

    figures: list[tuple[float, int]] = []
    for n in range(args.rounds):
        code = CODES[(n + 1) % 2]

        def bulk(code: str = code, n: int = n) -> Any:
            actor = db.session.get(User, ops_id)
            return reassign_many(dict.fromkeys(ids, code), f"bench round {n + 1}", actor)

        took, statements, done = timed(app, bulk)
        assert len(done.moved) == len(ids), (len(done.moved), len(done.unchanged))
        figures.append((took, statements))
        print(
            f"round {n + 1}: {len(ids):,} orders to {code} in {took:.1f} s "
            f"({len(ids) / took:.0f} orders/s), {statements} statements, "
            f"{done.paid_carried} paid commissions carried   load {load()}",
            flush=True,
        )
    with app.app_context():
        problems = ledger.verify()
    print(
        f"\nbulk re-assignment of {len(ids):,} orders, median of {args.rounds}: "
        f"{statistics.median(f[0] for f in figures):.1f} s, "
        f"{statistics.median(f[1] for f in figures):.0f} statements "
        f"({min(f[0] for f in figures):.1f}–{max(f[0] for f in figures):.1f} s)"
    )
    print(f"ledger verify: {'ok' if not problems else problems[:5]}   (seller id {seller})")


if __name__ == "__main__":
    main()
