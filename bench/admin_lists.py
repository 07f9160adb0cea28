"""How list pages scale: render time of the distributor list and the approval queue with
1,000, 10,000 and 100,000 distributors, as a ratio to a trivial page (/healthz) on the same
machine; and p95 of the list's search (``?q=``, trigram indexes on PostgreSQL; target
≤ 20 ms at 100k) and of its deepest keyset page (the oldest distributors), with the load.

A flat ratio as the table grows means pagination and indexes do their job; the query count
must not grow with the page size (no N+1).

    python bench/admin_lists.py [--sizes 1000,10000]     # SQLite in a temp folder
    DATABASE_URL=postgresql+psycopg://... python bench/admin_lists.py   # an EMPTY database
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import event, func, insert, select, text
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.accounts.models import Role, User
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.timeutil import utcnow

REPEAT = 30


def timed(client, url: str) -> float:
    client.get(url)  # warm up
    start = time.perf_counter()
    for _ in range(REPEAT):
        assert client.get(url).status_code == 200
    return (time.perf_counter() - start) / REPEAT


def p95(client, url: str) -> float:
    """p95 in ms of ``url`` over REPEAT requests (after a warm-up)."""
    client.get(url)
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        assert client.get(url).status_code == 200
        samples.append(time.perf_counter() - start)
    return statistics.quantiles(samples, n=20)[-1] * 1000


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def grow_to(size: int, password_hash: str) -> None:
    have = db.session.query(Distributor).count()
    now = utcnow()
    users = [
        {
            "email": f"b{i}@bench.example",
            "password_hash": password_hash,
            "role": Role.DISTRIBUTOR,
            "active": True,
            "created_at": now,
        }
        for i in range(have, size)
    ]
    db.session.execute(insert(User), users)
    bench_users = db.session.query(User.id).filter(User.email.like("b%@bench.example"))
    ids = [u.id for u in bench_users.order_by(User.id)]
    rows = []
    taken = set(db.session.scalars(db.select(Distributor.code)))
    for n, user_id in enumerate(ids[have:], start=have):
        code = codes.generate()
        while code in taken:
            code = codes.generate()
        taken.add(code)
        rows.append(
            {
                "user_id": user_id,
                "code": code,
                "display_name": f"Bench {n}",
                "status": DistributorStatus.APPLIED if n % 10 == 0 else DistributorStatus.ACTIVE,
                "role": "affiliate",
                "parent_id": (n // 3) + 1 if n > 3 else None,
                "applied_at": now,
                "joined_at": now,
            }
        )
    db.session.execute(insert(Distributor), rows)
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    sizes = [int(n) for n in parser.parse_args().sizes.split(",")]
    instance = tempfile.mkdtemp(prefix="portal-bench-")
    os.environ["PORTAL_INSTANCE_PATH"] = instance
    overrides: dict[str, object] = {"WTF_CSRF_ENABLED": False}
    if os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app = create_app(overrides)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        admin = User(email="admin@bench.example", role=Role.ADMIN)
        admin.set_password("bench-password")
        db.session.add(admin)
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    client.post("/login", data={"email": "admin@bench.example", "password": "bench-password"})
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    password_hash = generate_password_hash("x", method="pbkdf2:sha256:1")
    print(f"database: {engine.url.get_backend_name()}")
    print(
        f"{'distributors':>12} {'list/healthz':>13} {'queue/healthz':>14} {'queries':>8}"
        f" {'?q= p95 ms':>11} {'deepest p95 ms':>15}   load"
    )
    for size in sizes:
        with app.app_context():
            grow_to(size, password_hash)
            db.session.execute(text("ANALYZE"))  # what autovacuum does for a live table
            db.session.commit()
            oldest = db.session.scalar(select(func.min(Distributor.id)))
        base = timed(client, "/healthz")
        listing = timed(client, "/admin/distributors")
        queue = timed(client, "/admin/distributors/applications")
        statements.clear()
        client.get("/admin/distributors")
        queries = len(statements)
        search = p95(client, "/admin/distributors?q=4242")
        deepest = p95(client, f"/admin/distributors?after=0.{oldest + 20}")
        print(
            f"{size:>12} {listing / base:>13.1f} {queue / base:>14.1f} {queries:>8}"
            f" {search:>11.1f} {deepest:>15.1f}   {load()}"
        )


if __name__ == "__main__":
    main()
