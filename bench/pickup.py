"""A group leader's pick list and round page with 5,000 orders in one group-buy round.

A leader with an approved pickup point, 5,000 orders collected there during one round
(1–3 lines of the round's 20 products each, a tenth of them handed over already), and
5,000 more orders outside the round. Timed for 200 requests each, as p50 / p95 of the
server time:

* ``/me/pickup?round=<id>`` — the pick list's first page for the round (htmx partial);
* ``/me/pickup?round=<id>&waiting=y`` — only those not handed over yet;
* ``/me/pickup/rounds/<id>`` — the round page: the group message and the quantities per
  product (one grouped query over the round's orders).

Printed beside ``os.getloadavg()`` (nothing is asserted). PostgreSQL (or SQLite when
``DATABASE_URL`` is unset: a temporary file), in an EMPTY database that it fills::

    createdb -h 127.0.0.1 -U postgres portal_bench_pickup
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_pickup \\
        python bench/pickup.py
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from share import _percentiles, bench_app

from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.orders.models import Order, OrderLine
from portal.pickup.models import GroupRound, Handover, PickupPoint, PointStatus
from portal.timeutil import utcnow

IN_ROUND = 5_000
OUTSIDE = 5_000
PRODUCTS = 20
SAMPLES = 200
EMAIL, PASSWORD = "leader@bench.example", "bench-leader-pass"


def generate(app: Flask) -> int:
    """Fill the database; returns the round's id."""
    rng = random.Random(5000)
    now = utcnow()
    with app.app_context():
        user = User(email=EMAIL, role=Role.DISTRIBUTOR)
        user.set_password(PASSWORD)
        leader = Distributor(
            user=user,
            code="LEADER",
            display_name="Bench Leader",
            status=DistributorStatus.ACTIVE,
            role=DistributorRole.GROUP_LEADER,
            joined_at=now,
        )
        db.session.add(leader)
        for n in range(PRODUCTS):
            db.session.add(
                Product(
                    product_id=str(500 + n), name=f"Fruit box {n}", price="39.00", category_ids=[]
                )
            )
        db.session.flush()
        point = PickupPoint(
            distributor_id=leader.id,
            name="Gate 2",
            address="18 Garden Road",
            hours="9–20",
            status=PointStatus.APPROVED,
        )
        db.session.add(point)
        db.session.flush()
        opens, closes = now - timedelta(days=7), now + timedelta(days=1)
        found = GroupRound(
            title="Bench round",
            product_ids=[str(500 + n) for n in range(PRODUCTS)],
            opens_at=opens,
            closes_at=closes,
            created_by_id=user.id,
        )
        db.session.add(found)
        db.session.flush()
        orders, lines = [], []
        for n in range(IN_ROUND + OUTSIDE):
            inside = n < IN_ROUND
            created = (
                opens + timedelta(minutes=rng.uniform(0, 7 * 24 * 60 - 1))
                if inside
                else (opens - timedelta(days=rng.uniform(1, 60)))
            )
            orders.append(
                {
                    "id": n + 1,
                    "shop": "woocommerce",
                    "shop_order_id": str(n + 1),
                    "number": str(n + 1),
                    "status": "processing",
                    "currency": "CNY",
                    "net_total": Decimal("39.00"),
                    "created_at_shop": created,
                    "modified_at_shop": created,
                    "distributor_id": leader.id,
                    "attribution_method": "pickup",
                    "pickup_point_id": point.id,
                    "pickup_buyer": f"Buyer{n} Q.",
                    "stored_at": now,
                    "commission_runs": 0,
                    "refunded_unallocated": Decimal(0),
                }
            )
            for i in range(rng.randint(1, 3)):
                lines.append(
                    {
                        "order_id": n + 1,
                        "shop_line_id": str(i + 1),
                        "product_id": str(500 + rng.randrange(PRODUCTS)),
                        "qty": rng.randint(1, 3),
                        "total": Decimal("39.00"),
                        "refunded_total": Decimal(0),
                        "category_ids": [],
                        "name": "Fruit box",
                    }
                )
        db.session.execute(sa.insert(Order), orders)
        db.session.execute(sa.insert(OrderLine), lines)
        db.session.execute(
            sa.insert(Handover),
            [
                {
                    "order_id": n + 1,
                    "point_id": point.id,
                    "by_user_id": user.id,
                    "handed_over_at": now,
                }
                for n in range(0, IN_ROUND, 10)
            ],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        return found.id


def main() -> None:
    app = bench_app()  # an empty database, migrated (bench/share.py's)
    with app.app_context():
        dialect = db.engine.dialect.name
    print(f"generating {IN_ROUND:,} orders in a round and {OUTSIDE:,} outside it …", flush=True)
    round_id = generate(app)
    client = app.test_client()
    assert client.post("/login", data={"email": EMAIL, "password": PASSWORD}).status_code == 302
    paths = {
        "pick list, round": (f"/me/pickup?round={round_id}", {"HX-Request": "true"}),
        "pick list, round, waiting": (
            f"/me/pickup?round={round_id}&waiting=y",
            {"HX-Request": "true"},
        ),
        "round page (totals)": (f"/me/pickup/rounds/{round_id}", {}),
    }
    for path, headers in paths.values():
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code)
    print(f"\n{dialect}; {SAMPLES} requests per row; load before {os.getloadavg()}")
    print(f"{'page':<30} {'p50 ms':>8} {'p95 ms':>8}")
    for label, (path, headers) in paths.items():
        samples = []
        for _ in range(SAMPLES):
            start = time.perf_counter()
            client.get(path, headers=headers)
            samples.append(time.perf_counter() - start)
        p50, p95 = _percentiles(samples)
        print(f"{label:<30} {p50:>8.1f} {p95:>8.1f}")
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
