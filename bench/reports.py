"""``/admin/reports`` at the bench scale of bench/centre.py.

Server time (the test client, full body read) of the reports page and of its CSV export
for the last 30, 90 and 365 days over 100,000 distributors, 1,000,000 orders, ~2,000,000
commissions and 3,000,000 clicks (all within the last 90 days), as p50 / p95. Printed
beside the same page template rendered with constant data in the same run, so the ratio
says what the queries cost, and with the mean CPU time of a request (this process plus
the local PostgreSQL server processes of the app's connections; parallel query workers,
if the planner starts any, are not counted), which a busy machine inflates less than the
wall time. Target: p95 < 300 ms for 30 days. Nothing is asserted.

PostgreSQL only. Uses (and, if empty, fills) the database of bench/centre.py::

    createdb -h 127.0.0.1 -U postgres portal_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench \\
        python bench/reports.py [--samples 20] [--csv-samples 5]  # 0: skip the CSV

A staff user ``ops@bench.example`` is added for the run and removed afterwards, so
bench/centre.py still finds the database as it left it.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from centre import _percentiles, bench_app
from flask import Flask, render_template
from flask_login import login_user

from portal.accounts.models import Role, User
from portal.centre.charts import bar_chart
from portal.commissions.models import CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.reports.services import Kpis, LevelRow, Ranked
from portal.timeutil import utcnow

RANGES = (30, 90, 365)
OPS_EMAIL = "ops@bench.example"


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
    parser.add_argument("--csv-samples", type=int, default=5)
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
                (p50, p95), cpu = _timed(client, f"{path}?{span}", samples, pids)
                name = f"{label} {days} d"
                ratio = p95 / constant[1]
                print(
                    f"{name:<30} {p50:>8.1f} {p95:>8.1f} {cpu * 1000:>8.0f}"
                    f"   ({ratio:.1f}x the constant page)"
                )
    finally:
        with app.app_context():
            db.session.execute(sa.delete(User).where(User.email == OPS_EMAIL))
            db.session.commit()


if __name__ == "__main__":
    main()
