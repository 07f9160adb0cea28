"""``/admin/reports`` over a year of orders, read from the rollups.

Server time (the test client, full body read) of the reports page and of its CSV export
for the last 7, 30, 90 and 365 days over 100,000 distributors (the five-wide tree of
bench/centre.py), 3,650,000 orders — a year at 10,000 a day, skewed as in bench/centre.py
(a few distributors own thousands) — their ~7,300,000 depth-1 and depth-2 commissions, open
risk flags on 1 % of them and 3,650,000 clicks, all within the last 365 days. Each range
is timed in three rounds; the median of the rounds' p50 and p95 is printed beside the same
page template rendered with constant data in the same run (so the ratio says what the
queries cost), with the mean CPU time of a request (this process plus the local
PostgreSQL server processes of the app's connections), which a busy machine inflates less
than the wall time, and the load average. Target: p95 ≤ 300 ms for every range. Nothing
is asserted.

PostgreSQL only. Generates the year once (with ``generate_series``, triggers off, then
``portal.reports.rollups.rebuild``: several minutes) into an EMPTY database and reuses
it on later runs::

    createdb -h 127.0.0.1 -U postgres portal_bench_reports
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_reports \\
        python bench/reports.py [--samples 20] [--csv-samples 3]  # 0: skip the CSV

A staff user ``ops@bench.example`` is added for the run and removed afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from centre import DISTRIBUTORS, GENERATE, _percentiles
from flask import Flask, render_template
from flask_login import login_user
from flask_migrate import upgrade

from portal import create_app
from portal.accounts.models import Role, User
from portal.centre.charts import bar_chart
from portal.commissions.models import CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.reports import rollups
from portal.reports.services import Kpis, LevelRow, Ranked
from portal.timeutil import utcnow

RANGES = (7, 30, 90, 365)
ROUNDS = 3
OPS_EMAIL = "ops@bench.example"
ORDERS = 3_650_000
CLICKS = ORDERS

# After bench/centre.py's users and distributors: a year of orders (no lines: the reports
# do not read them), their commissions, risk flags and clicks, each computed by PostgreSQL.
YEAR = [
    """INSERT INTO orders (shop, shop_order_id, number, status, currency, net_total,
                           refunded_unallocated, created_at_shop, modified_at_shop,
                           completed_at, distributor_id, attribution_method,
                           attribution_evidence, stored_at, commission_runs)
       SELECT 'woocommerce', n::text, n::text,
              (ARRAY['completed','completed','completed','processing','refunded'])[1 + n % 5],
              'CNY', round(10 + (n::bigint * 7919) % 49000 / 100.0, 2), 0, t, t,
              CASE WHEN n % 5 < 3 THEN t END,
              1 + floor(:d * power(random(), 3))::int, 'coupon', '{}'::json, t, 1
       FROM (SELECT n, now() - random() * interval '365 days' AS t
             FROM generate_series(1, :o) AS n) AS g""",
    """INSERT INTO commissions (order_id, beneficiary_id, depth, state, currency, amount,
                                basis, rate, rule_id, hold_until, order_created_at,
                                seller_id, created_at, updated_at)
       SELECT o.id, o.distributor_id, 1,
              CASE WHEN o.status = 'refunded' THEN 'reversed'
                   WHEN o.id % 100 = 7 THEN 'on_review'
                   WHEN o.status = 'processing' THEN 'pending'
                   WHEN o.created_at_shop > now() - interval '7 days' THEN 'holding'
                   WHEN o.id % 3 = 0 THEN 'paid' ELSE 'available' END,
              'CNY', CASE o.status WHEN 'refunded' THEN 0 ELSE round(o.net_total * 0.1, 2) END,
              o.net_total, 10, 'plan', o.created_at_shop + interval '7 days',
              o.created_at_shop, o.distributor_id, o.created_at_shop, o.created_at_shop
       FROM orders o""",
    """INSERT INTO commissions (order_id, beneficiary_id, depth, state, currency, amount,
                                basis, rate, rule_id, hold_until, order_created_at,
                                seller_id, created_at, updated_at)
       SELECT c.order_id, d.parent_id, 2, c.state, 'CNY', round(c.basis * 0.03, 2), c.basis,
              3, 'plan', c.hold_until, c.order_created_at, c.seller_id, c.created_at,
              c.updated_at
       FROM commissions c JOIN distributors d ON d.id = c.beneficiary_id
       WHERE c.depth = 1 AND d.parent_id IS NOT NULL""",
    """INSERT INTO risk_flags (order_id, distributor_id, rule, evidence, status, created_at)
       SELECT id, distributor_id, 'same_device', '{}'::json, 'open', created_at_shop
       FROM orders WHERE id % 100 = 7""",
    """INSERT INTO clicks (distributor_id, product_id, visitor_hash, referrer_host, created_at)
       SELECT 1 + floor(:d * power(random(), 3))::int, NULL, md5(n::text), NULL,
              now() - random() * interval '365 days'
       FROM generate_series(1, :c) AS n""",
]


def _done(table: str) -> bool:
    """Whether ``table`` has rows (on a connection of its own: the session's open
    transaction would hold a lock the generating statements wait for)."""
    query = f"SELECT EXISTS (SELECT 1 FROM {table})"  # noqa: S608 - our own names
    with db.engine.connect() as conn:
        return bool(conn.scalar(sa.text(query)))


def generate(app: Flask) -> None:
    """The year, one committed statement at a time with the triggers off
    (``session_replication_role``), skipping what an interrupted run already made; the
    commissions in one transaction with their secondary indexes dropped and made again
    (faster than keeping them row by row); then every rollup rebuilt at once, and the
    statistics and visibility map autovacuum would keep."""
    params = {"n": DISTRIBUTORS, "d": DISTRIBUTORS, "o": ORDERS, "c": CLICKS}
    steps = [
        ("users", [GENERATE[0]]),
        ("distributors", [GENERATE[1]]),
        ("orders", [YEAR[0]]),
        ("commissions", YEAR[1:3]),
        ("risk_flags", [YEAR[3]]),
        ("clicks", [YEAR[4]]),
    ]
    with app.app_context():
        for table, statements in steps:
            if _done(table):
                continue
            start = time.perf_counter()
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
                indexes = []
                if table == "commissions":
                    indexes = conn.execute(
                        sa.text(
                            "SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE tablename = 'commissions' AND indexname LIKE 'ix_%'"
                        )
                    ).all()
                    for name, _ in indexes:
                        conn.execute(sa.text(f"DROP INDEX {name}"))
                for statement in statements:
                    conn.execute(sa.text(statement), params)
                for _, definition in indexes:
                    conn.execute(sa.text(definition))
            print(f"  {table:<15} {time.perf_counter() - start:6.1f} s", flush=True)
        if not _done("report_rollups"):
            start = time.perf_counter()
            days = rollups.rebuild(db.session)
            db.session.commit()
            print(f"  {'rollups':<15} {time.perf_counter() - start:6.1f} s ({days:,} days)")
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))


def bench_app() -> Flask:
    """The app on ``DATABASE_URL``, migrated, with the year (generated on first use into
    an empty database, or completed after an interrupted run; other data is refused)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to an empty PostgreSQL database (or the bench's own)")
    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        users = db.session.scalar(sa.text("SELECT count(*) FROM users"))
        ready = _done("report_rollups")
    if users not in (0, DISTRIBUTORS):
        sys.exit("the database has other data (or a bench run left its user): use an empty one")
    if not ready:
        print("generating (one-off, several minutes; an interrupted run goes on):", flush=True)
        generate(app)
    return app


def _backend_pids() -> list[int]:
    """The PostgreSQL server processes of this database (the app's pooled connections)."""
    return list(
        db.session.scalars(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        )
    )


def _cpu(pids: list[int]) -> float:
    """CPU seconds used so far by this process and the given local server processes: on a
    shared machine, what a request costs whatever the load (wall time includes waiting)."""
    used = time.process_time()
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _timed(
    client: object, url: str, samples: int, pids: list[int]
) -> tuple[tuple[float, float], float]:
    """(p50, p95) wall time and the mean CPU time of ``samples`` GETs, in seconds."""
    timings = []
    cpu = _cpu(pids)
    for _ in range(samples):
        start = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        response.get_data()  # the CSV streams: time the whole body
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return _percentiles(timings), (_cpu(pids) - cpu) / samples


def _constant_page(app: Flask, user_id: int, samples: int) -> tuple[float, float]:
    """The reports template with fixed figures: what rendering alone costs."""
    first = date(2026, 1, 1)
    points = [(first + timedelta(days=n), Decimal(n)) for n in range(30)]
    kpis = Kpis(
        Decimal("123456.78"),
        1234,
        Decimal("100000.00"),
        1000,
        45678,
        dict.fromkeys((s.value for s in CommissionState), Decimal("100")),
        100_000,
        12,
    )
    with app.test_request_context("/admin/reports"):
        login_user(db.session.get(User, user_id))
        context = {
            "first": first,
            "last": first + timedelta(days=29),
            "kpis": kpis,
            "gmv_chart": bar_chart("gmv", points, "Sales", money),
            "commission_chart": bar_chart("commission", points, "Commission", money),
            "top": _top_rows(),
            "levels": [LevelRow("", 100_000, Decimal("123456.78"), Decimal("12345.67"))],
        }
        timings = []
        for _ in range(samples):
            start = time.perf_counter()
            render_template("admin/reports.html", **context)
            timings.append(time.perf_counter() - start)
    return _percentiles(timings)


def _top_rows() -> list[Ranked]:
    distributors = db.session.scalars(sa.select(Distributor).order_by(Distributor.id).limit(10))
    return [Ranked(d, 100, Decimal("1000"), Decimal("100")) for d in distributors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--csv-samples", type=int, default=3)
    args = parser.parse_args()
    app = bench_app()
    logging.getLogger("portal.access").setLevel(logging.WARNING)  # one line per request
    with app.app_context():
        ops = User(email=OPS_EMAIL, role=Role.OPS, created_at=utcnow())
        ops.set_password("bench-password")
        db.session.add(ops)
        db.session.commit()
        ops_id = ops.id
    try:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(ops_id)
            session["_fresh"] = True
        constant = _constant_page(app, ops_id, args.samples)
        today = utcnow().date()
        assert client.get("/admin/reports").status_code == 200  # warm up, open the pool
        with app.app_context():
            pids = _backend_pids()
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'page':<30} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8}")
        print(f"{'reports, constant data':<30} {constant[0]:>8.1f} {constant[1]:>8.1f}")
        for days in RANGES:
            span = f"from={(today - timedelta(days=days - 1)).isoformat()}&to={today.isoformat()}"
            for label, path, samples in (
                ("/admin/reports", "/admin/reports", args.samples),
                ("distributors.csv", "/admin/reports/distributors.csv", args.csv_samples),
            ):
                if not samples:
                    continue
                rounds = [_timed(client, f"{path}?{span}", samples, pids) for _ in range(ROUNDS)]
                p50 = statistics.median(r[0][0] for r in rounds)
                p95 = statistics.median(r[0][1] for r in rounds)
                cpu = statistics.median(r[1] for r in rounds)
                name = f"{label} {days} d"
                ratio = p95 / constant[1]
                print(
                    f"{name:<30} {p50:>8.1f} {p95:>8.1f} {cpu * 1000:>8.0f}"
                    f"   ({ratio:.1f}x the constant page; load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    finally:
        with app.app_context():
            db.session.execute(sa.delete(User).where(User.email == OPS_EMAIL))
            db.session.commit()


if __name__ == "__main__":
    main()
