"""The Share page's product list with what the distributor earns on every product.

With 10,000 catalogue products and a plan of 1,000 product and category overrides over
two depths, the server time of ``/me/links/products`` (the first page, a deep page and a
search, twenty products each with their estimate) for 200 requests, as p50 / p95:

* **cached** — the estimates and the engine's plan kept per plan version (the portal);
* **cold** — both caches emptied before every request (every request reads the plan
  with its overrides and runs the engine for every product shown), which is what the
  cache saves.

Printed beside ``os.getloadavg()`` (nothing is asserted). Target: cached p95 ≤ 50 ms.

PostgreSQL (or SQLite when ``DATABASE_URL`` is unset: a temporary file), in an EMPTY
database that it fills (drop it afterwards)::

    createdb -h 127.0.0.1 -U postgres portal_bench_share
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_share \\
        python bench/share.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.commissions import estimates
from portal.commissions.models import CommissionPlan, PlanOverride
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.extensions import db
from portal.timeutil import utcnow

PRODUCTS = 10_000
OVERRIDES = 1_000
SAMPLES = 200
EMAIL, PASSWORD = "bench@share.example", "bench-pass-123456"
PATHS = (
    "/me/links/products",
    f"/me/links/products?page={PRODUCTS // 40}",
    "/me/links/products?q=tea+7",
)


def generate(app: Flask) -> None:
    """The catalogue, the plan and one distributor (with a level)."""
    with app.app_context():
        db.session.execute(
            sa.insert(Product),
            [
                {
                    "product_id": str(1000 + n),
                    "name": f"{('Tea', 'Cup', 'Gift box', 'Cookies')[n % 4]} {n}",
                    "price": f"{5 + n % 200}.{n % 100:02d}",
                    "permalink": f"https://shop.example/p/{n}/",
                    "category_ids": [f"c{n % 50}"],
                }
                for n in range(PRODUCTS)
            ],
        )
        plan = CommissionPlan(
            role="affiliate",
            max_depth=2,
            rate_depth1=Decimal(10),
            rate_depth2=Decimal(3),
            rate_depth3=Decimal(0),
            basis="product",
        )
        plan.overrides = [
            PlanOverride(
                scope="product" if n % 10 else "category",
                target_id=str(1000 + n * 7) if n % 10 else f"c{n // 10 % 50}",
                depth=1 + n % 2 if n % 10 else 1 + n // 500,
                kind="fixed" if n % 3 == 0 else "percent",
                value=Decimal(2 + n % 13),
            )
            for n in range(OVERRIDES)
        ]
        db.session.add(plan)
        level = Level(name="Gold", rank=1, rate_depth1=Decimal(12))
        user = User(email=EMAIL, role=Role.DISTRIBUTOR)
        user.set_password(PASSWORD)
        db.session.add_all([level, user])
        db.session.flush()
        db.session.add(
            Distributor(
                user=user,
                code="BENCHSH1",
                display_name="Bench",
                status=DistributorStatus.ACTIVE,
                role=DistributorRole.AFFILIATE,
                level=level,
                joined_at=utcnow(),
            )
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


def measure(app: Flask, cold: bool) -> dict[str, tuple[float, float]]:
    client = app.test_client()
    signed_in = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    timings: dict[str, list[float]] = {path: [] for path in PATHS}
    for path in PATHS:  # warm up (and check every page answers)
        response = client.get(path, headers={"HX-Request": "true"})
        assert response.status_code == 200, (path, response.status_code)
        assert b'data-earn="' in response.data, path
    for _ in range(SAMPLES // len(PATHS) + 1):
        for path, samples in timings.items():
            if cold:
                estimates._ESTIMATES.clear()
                estimates._PLANS.clear()
            start = time.perf_counter()
            client.get(path, headers={"HX-Request": "true"})
            samples.append(time.perf_counter() - start)
    return {path: _percentiles(samples) for path, samples in timings.items()}


def bench_app() -> Flask:
    url = os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.join(
        tempfile.mkdtemp(prefix="portal-bench-share-"), "bench.db"
    )
    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        if db.session.scalar(sa.text("SELECT count(*) FROM products")):
            sys.exit("the database has data: use an empty one")
    return app


def main() -> None:
    app = bench_app()
    print(f"generating {PRODUCTS:,} products, {OVERRIDES:,} overrides …", flush=True)
    generate(app)
    with app.app_context():
        dialect = db.engine.dialect.name
    print(f"\n{dialect}; {SAMPLES} requests per row; load before {os.getloadavg()}")
    print(f"{'page (20 products, each with its estimate)':<44} {'p50 ms':>8} {'p95 ms':>8}")
    cached = measure(app, cold=False)
    cold = measure(app, cold=True)
    for path in PATHS:
        for label, figures in (("cached", cached[path]), ("cold", cold[path])):
            print(f"{path + ' ' + label:<44} {figures[0]:>8.1f} {figures[1]:>8.1f}")
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
