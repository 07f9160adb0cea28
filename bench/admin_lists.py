"""How list pages scale: render time of the distributor list and the approval queue with
1,000 and 10,000 distributors, as a ratio to a trivial page (/healthz) on the same machine.

A flat ratio as the table grows means pagination and indexes do their job; the query count
must not grow with the page size (no N+1).

    python bench/admin_lists.py            # SQLite in a temp folder
    DATABASE_URL=postgresql://... python bench/admin_lists.py   # an EMPTY database
"""

from __future__ import annotations

import os
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import event, insert
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
    instance = tempfile.mkdtemp(prefix="portal-bench-")
    os.environ["PORTAL_INSTANCE_PATH"] = instance
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
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
    print(f"{'distributors':>12} {'list/healthz':>13} {'queue/healthz':>14} {'queries':>8}")
    for size in (1_000, 10_000):
        with app.app_context():
            grow_to(size, password_hash)
        base = timed(client, "/healthz")
        listing = timed(client, "/admin/distributors")
        queue = timed(client, "/admin/distributors/applications")
        statements.clear()
        client.get("/admin/distributors")
        print(f"{size:>12} {listing / base:>13.1f} {queue / base:>14.1f} {len(statements):>8}")


if __name__ == "__main__":
    main()
