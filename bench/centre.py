"""The distributor centre at scale, and short-link redirects under gunicorn.

Two figures, printed (nothing is asserted):

1. **Pages** — with 100,000 distributors (a five-wide tree, so everyone has a team three
   levels deep), 1,000,000 orders over 90 days (skewed: a few distributors own thousands),
   their depth-1 and depth-2 commissions with ledger entries, and 3,000,000 clicks: the
   server time of ``/me/`` (dashboard), ``/me/orders`` (statement) and ``/me/team`` for
   300 distributors (random, plus the 20 busiest), as p50 / p95. Printed beside the
   same dashboard template rendered with constant data in the same run, so the ratio
   says what the queries cost. Target: p95 ≤ 50 ms.
   With ``--wide-tree`` a team leader is added on top: 50,000 direct members and 10,000 at
   the second level, 150,000 orders by the direct members (so 150,000 depth-2 ledger
   entries for the leader), and the leader's ``/me/``, ``/me/team`` (first page, a page
   deep inside level 1, level 2) are timed on their own, after the checkpoint job has run
   (its time is printed too). Target: p95 ≤ 50 ms.
2. **Redirects** — ``/r/<code>`` under gunicorn with 2 workers, requests/s from a client
   that keeps both workers busy, beside a bare 302 endpoint in the same app measured the
   same way: with a browser's user agent (a lookup, a click INSERT, a 302 — the path a
   person takes; target ratio ≥ 0.5), and separately with a crawler's (``Python-urllib``,
   no click written). The run checks that the browser requests did write clicks.

PostgreSQL only (the data is generated with ``generate_series``), in an EMPTY database
that it leaves filled (drop it afterwards)::

    createdb -h 127.0.0.1 -U postgres portal_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench \\
        python bench/centre.py [--wide-tree] [--skip-pages] [--skip-redirects]

The machine's load average is printed beside every timing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, render_template
from flask_migrate import upgrade
from sqlalchemy import event

from portal import create_app
from portal.centre import team
from portal.centre.charts import bar_chart
from portal.centre.figures import PeriodFigures
from portal.commissions.engine import Basis
from portal.commissions.estimates import Rates
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket
from portal.levels.criteria import LevelProgress

DISTRIBUTORS = 100_000
ORDERS = 1_000_000
CLICKS = 3_000_000
SAMPLES = 300
WIDE_DIRECT = 50_000
WIDE_SECOND = 10_000
WIDE_ORDERS = 150_000
LEADER = DISTRIBUTORS + 1  # user and distributor id of the wide tree's leader

# One statement per table: every row computed by PostgreSQL itself.
GENERATE = [
    """INSERT INTO users (email, password_hash, role, active, created_at)
       SELECT 'd' || n || '@bench.example', 'x', 'distributor', true, now()
       FROM generate_series(1, :n) AS n""",
    """INSERT INTO distributors (user_id, code, display_name, status, role, parent_id,
                                 applied_at, joined_at)
       SELECT n, 'BN' || translate(lpad(n::text, 6, '0'), '0123456789', 'ACDEFGHJKM'),
              'Bench ' || n, 'active', 'affiliate',
              CASE WHEN n > 1 THEN (n - 2) / 5 + 1 END, now() - interval '400 days',
              now() - interval '400 days' + n * interval '1 minute'
       FROM generate_series(1, :n) AS n""",
    # Skewed ownership: distributor = n^3 spread, so low ids own thousands of orders.
    """INSERT INTO orders (shop, shop_order_id, number, status, currency, net_total,
                           refunded_unallocated, created_at_shop, modified_at_shop,
                           completed_at, distributor_id, attribution_method,
                           attribution_evidence, stored_at, commission_runs)
       SELECT 'woocommerce', n::text, n::text,
              (ARRAY['completed','completed','completed','processing','refunded'])[1 + n % 5],
              'CNY', round(10 + (n::bigint * 7919) % 49000 / 100.0, 2), 0, t, t,
              CASE WHEN n % 5 < 3 THEN t END,
              1 + floor(:d * power(random(), 3))::int, 'coupon', '{}'::json, t, 1
       FROM (SELECT n, now() - random() * interval '90 days' AS t
             FROM generate_series(1, :o) AS n) AS g""",
    """INSERT INTO order_lines (order_id, shop_line_id, product_id, category_ids, name, qty,
                                total, refunded_total)
       SELECT id, '1', (100 + id % 50)::text, '["tea"]'::json, 'Product', 1, net_total, 0
       FROM orders""",
    """INSERT INTO commissions (order_id, beneficiary_id, depth, state, currency, amount,
                                basis, rate, rule_id, hold_until, order_created_at,
                                seller_id, created_at, updated_at)
       SELECT o.id, o.distributor_id, 1,
              CASE o.status WHEN 'refunded' THEN 'reversed' WHEN 'processing' THEN 'pending'
                   ELSE CASE WHEN o.created_at_shop < now() - interval '7 days'
                             THEN 'available' ELSE 'holding' END END,
              'CNY', CASE o.status WHEN 'refunded' THEN 0 ELSE round(l.total * 0.1, 2) END,
              l.total, 10, 'plan', o.created_at_shop + interval '7 days',
              o.created_at_shop, o.distributor_id, o.created_at_shop, o.created_at_shop
       FROM orders o JOIN order_lines l ON l.order_id = o.id""",
    """INSERT INTO commissions (order_id, beneficiary_id, depth, state, currency, amount,
                                basis, rate, rule_id, hold_until, order_created_at,
                                seller_id, created_at, updated_at)
       SELECT c.order_id, d.parent_id, 2, c.state, 'CNY', round(c.basis * 0.03, 2), c.basis,
              3, 'plan', c.hold_until, c.order_created_at, c.seller_id, c.created_at,
              c.updated_at
       FROM commissions c JOIN distributors d ON d.id = c.beneficiary_id
       WHERE c.depth = 1 AND d.parent_id IS NOT NULL""",
    """INSERT INTO ledger_entries (distributor_id, bucket, amount, currency, kind,
                                   commission_id, reference, created_at)
       SELECT beneficiary_id, state, amount, 'CNY', 'accrual', id, 'order:' || order_id,
              created_at
       FROM commissions WHERE state <> 'reversed' AND amount <> 0""",
    """INSERT INTO clicks (distributor_id, product_id, visitor_hash, referrer_host, created_at)
       SELECT 1 + floor(:d * power(random(), 3))::int, NULL, md5(n::text), NULL,
              now() - random() * interval '90 days'
       FROM generate_series(1, :c) AS n""",
]


# The wide tree, inserted after the base tree's distributors and orders (so the statements
# after those — lines, commissions, ledger — cover it too): the leader, 50k direct members,
# 10k below the first 10k of them, and orders spread evenly over the direct members.
WIDE = [
    """INSERT INTO users (email, password_hash, role, active, created_at)
       SELECT 'w' || n || '@bench.example', 'x', 'distributor', true, now()
       FROM generate_series(:n + 1, :n + 1 + :w1 + :w2) AS n""",
    """INSERT INTO distributors (user_id, code, display_name, status, role, parent_id,
                                 applied_at, joined_at)
       SELECT n, 'BW' || translate(lpad(n::text, 6, '0'), '0123456789', 'ACDEFGHJKM'),
              'Wide ' || n, 'active', 'affiliate',
              CASE WHEN n = :n + 1 THEN NULL
                   WHEN n <= :n + 1 + :w1 THEN :n + 1
                   ELSE n - :w1 END,
              now() - interval '400 days', now() - interval '300 days' + n * interval '1 second'
       FROM generate_series(:n + 1, :n + 1 + :w1 + :w2) AS n""",
    """INSERT INTO orders (shop, shop_order_id, number, status, currency, net_total,
                           refunded_unallocated, created_at_shop, modified_at_shop,
                           completed_at, distributor_id, attribution_method,
                           attribution_evidence, stored_at, commission_runs)
       SELECT 'woocommerce', 'w' || n, 'w' || n, 'completed', 'CNY',
              round(10 + (n::bigint * 7919) % 49000 / 100.0, 2), 0, t, t, t,
              :n + 2 + n % :w1, 'coupon', '{}'::json, t, 1
       FROM (SELECT n, now() - random() * interval '90 days' AS t
             FROM generate_series(1, :wo) AS n) AS g""",
]


def generate(app: Flask, wide: bool) -> None:
    with app.app_context():
        params = {
            "n": DISTRIBUTORS,
            "d": DISTRIBUTORS,
            "o": ORDERS,
            "c": CLICKS,
            "w1": WIDE_DIRECT,
            "w2": WIDE_SECOND,
            "wo": WIDE_ORDERS,
        }
        statements = GENERATE[:3] + (WIDE if wide else []) + GENERATE[3:]
        for statement in statements:
            start = time.perf_counter()
            table = statement.split()[2]
            db.session.execute(sa.text(statement), params)
            db.session.commit()
            print(f"  {table:<15} {time.perf_counter() - start:6.1f} s", flush=True)
        start = time.perf_counter()
        team.recount()  # the counters the application keeps as distributors join
        db.session.commit()
        print(f"  {'team counts':<15} {time.perf_counter() - start:6.1f} s", flush=True)
        # What autovacuum does for a live database: statistics, and the visibility map
        # that lets covering indexes answer without visiting the table.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def checkpoints(app: Flask) -> None:
    """The periodic checkpoint job over everything not yet checkpointed."""
    with app.app_context():
        start = time.perf_counter()
        done = ledger.write_checkpoints(batch=2000, budget=float("inf"))
        entries = db.session.scalar(sa.text("SELECT count(*) FROM ledger_entries"))
    took = time.perf_counter() - start
    print(f"\ncheckpoint job: {done} distributors, {entries} entries, {took:.1f} s   ({load()})")


def leader_pages(app: Flask, samples: int = 100) -> None:
    """The wide tree's leader alone: dashboard and team pages, p50 / p95."""
    with app.app_context():
        entries = db.session.scalar(
            sa.text("SELECT count(*) FROM ledger_entries WHERE distributor_id = :d"),
            {"d": LEADER},
        )
        sizes = team.counts(LEADER)
        deep = db.session.scalar(
            sa.text("SELECT min(id) FROM distributors WHERE parent_id = :d"), {"d": LEADER}
        )
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = f"{LEADER}:0"  # User.get_id(): id and session version
        session["_fresh"] = True
    urls = {
        "/me/": "/me/",
        "/me/team": "/me/team",
        "/me/team, deep in level 1": f"/me/team?after=0.{deep + 100}",
        "/me/team?depth=2": "/me/team?depth=2",
    }
    timings: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(samples):
        for name, url in urls.items():
            start = time.perf_counter()
            response = client.get(url)
            timings[name].append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
    print(f"\nleader: team {sizes}, {entries} ledger entries; {samples} requests each")
    print(f"{'leader page':<28} {'p50 ms':>8} {'p95 ms':>8}")
    for name, samples_ in timings.items():
        p50, p95 = _percentiles(samples_)
        print(f"{name:<28} {p50:>8.1f} {p95:>8.1f}   ({load()})")


def pages(app: Flask) -> None:
    with app.app_context():
        busiest = list(
            db.session.scalars(
                sa.text(
                    "SELECT distributor_id FROM orders GROUP BY distributor_id "
                    "ORDER BY count(*) DESC LIMIT 20"
                )
            )
        )
        most = db.session.scalar(
            sa.text("SELECT count(*) FROM orders WHERE distributor_id = :d"), {"d": busiest[0]}
        )
    rng = random.Random(7)
    users = busiest + [rng.randint(1, DISTRIBUTORS) for _ in range(SAMPLES - len(busiest))]
    client = app.test_client()
    timings: dict[str, list[float]] = {"/me/": [], "/me/orders": [], "/me/team": []}
    for user_id in users:
        with client.session_transaction() as session:
            session["_user_id"] = f"{user_id}:0"  # user n is distributor n; version 0
            session["_fresh"] = True
        for url, samples in timings.items():
            start = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
    constant = _constant_dashboard(app)
    print(f"\nbusiest distributor: {most} orders; {len(users)} distributors sampled")
    print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'dashboard, constant data':<28} {constant[0]:>8.1f} {constant[1]:>8.1f}")
    for url, samples in timings.items():
        p50, p95 = _percentiles(samples)
        ratio = p95 / constant[1]
        print(f"{url:<28} {p50:>8.1f} {p95:>8.1f}   ({ratio:.1f}x the constant page; {load()})")


def _constant_dashboard(app: Flask) -> tuple[float, float]:
    """The dashboard template with fixed numbers: what rendering alone costs."""
    figures = PeriodFigures(Decimal("1234.5"), 12, Decimal("123.45"), 300)
    with app.test_request_context("/me/"):
        distributor = db.session.get(Distributor, 1)
        points = [(date(2026, 1, 1) + timedelta(days=n), Decimal(n)) for n in range(30)]
        context = {
            "distributor": distributor,
            "buckets": Bucket,
            "can_promote": True,
            "invite_url": "https://portal.example/join/B0000001",
            "balances": dict.fromkeys(Bucket, Decimal("100")),
            "maturing": [],
            "this_month": figures,
            "last_month": figures,
            "earned_change": Decimal("3.5"),
            "funnel": figures,
            "progress": LevelProgress(None, None, 0, []),
            "recruits": 5,
            "rates": Rates((Decimal(10), Decimal(3)), 0, Basis.PRODUCT, None, 7),
            "short_url": "https://portal.example/r/B0000001",
            "days": 30,
            "chart_days": (7, 30, 90),
            "sales_chart": bar_chart("s", points, "Sales", str),
            "earned_chart": bar_chart("e", points, "Commission", str),
        }
        samples = []
        for _ in range(SAMPLES):
            start = time.perf_counter()
            render_template("me/home.html", **context)
            samples.append(time.perf_counter() - start)
    return _percentiles(samples)


# --- redirects under gunicorn ---------------------------------------------------------

BARE_APP = """
from flask import redirect
from wsgi import app

@app.get("/bench/bare-302")
def bare_302():
    return redirect("https://shop.bench.example/", 302)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# A person's phone (links are shared in chat apps and opened on phones).
BROWSER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
BOT_UA = f"Python-urllib/{sys.version_info.major}.{sys.version_info.minor}"


def _load(url: str, seconds: float, threads: int, user_agent: str = BROWSER_UA) -> float:
    """Requests per second from ``threads`` clients hitting ``url`` for ``seconds``."""
    opener = urllib.request.build_opener(_NoRedirect)
    opener.addheaders = [("User-Agent", user_agent)]
    done = [0] * threads
    stop = time.monotonic() + seconds

    def run(slot: int) -> None:
        while time.monotonic() < stop:
            try:
                opener.open(url, timeout=10)
            except urllib.error.HTTPError as exc:
                assert exc.code == 302, exc.code
            done[slot] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / seconds


def _clicks(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM clicks"))
    finally:
        engine.dispose()


def _load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def redirects(database_url: str, code: str, rounds: int) -> None:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    folder = tempfile.mkdtemp(prefix="portal-bench-")
    Path(folder, "bench_app.py").write_text(BARE_APP)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": folder,
        "WOO_STORE_URL": "https://shop.bench.example",
        "PYTHONPATH": os.pathsep.join([folder, str(Path(__file__).resolve().parent.parent)]),
    }
    server = subprocess.Popen(
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench_app:app"],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        _load(base + "/bench/bare-302", 2, 4)  # warm up both workers
        print(f"\n{'gunicorn, 2 workers, 4 clients':<34} {'req/s':>8}")
        browser_ratios, bot_ratios = [], []
        for n in range(1, rounds + 1):
            # Each path beside a bare 302 measured just before it (the load drifts).
            bare = _load(base + "/bench/bare-302", 10, 4)
            before = _clicks(database_url)
            short = _load(f"{base}/r/{code}", 10, 4)
            written = _clicks(database_url) - before
            assert written >= short * 10 * 0.99, f"browser requests wrote {written} clicks"
            bare_bot = _load(base + "/bench/bare-302", 10, 4)
            bot = _load(f"{base}/r/{code}", 10, 4, BOT_UA)
            browser_ratios.append(short / bare)
            bot_ratios.append(bot / bare_bot)
            print(
                f"round {n}: bare {bare:.0f}, browser {short:.0f} ({written} clicks) ratio "
                f"{short / bare:.2f};  bare {bare_bot:.0f}, bot {bot:.0f} ratio "
                f"{bot / bare_bot:.2f}   load {_load_avg()}"
            )
        print(
            f"/r/<code> browser (click + 302): ratio median {statistics.median(browser_ratios):.2f}"
            f"   (target >= 0.5)"
        )
        print(f"/r/<code> bot UA (302, no click): ratio median {statistics.median(bot_ratios):.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def timed(app: Flask, work: Callable[[], Any]) -> tuple[float, int, Any]:
    """(seconds, statements, result) of ``work`` in a fresh session (the benches of
    periodic jobs and bulk services share it)."""
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            start = time.perf_counter()
            result = work()
            took = time.perf_counter() - start
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()
    return took, statements[0], result


def bench_app(wide: bool) -> Flask:
    """The app on ``DATABASE_URL``, migrated, with the bench data (generated on first use
    into an empty database; any other data — or the data of the other tree option — is
    refused)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to an empty PostgreSQL database (or the bench's own)")
    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"WTF_CSRF_ENABLED": False, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        users = db.session.scalar(sa.text("SELECT count(*) FROM users"))
    if not users:
        print("generating (one-off, a few minutes):", flush=True)
        generate(app, wide)
    elif users != DISTRIBUTORS + (1 + WIDE_DIRECT + WIDE_SECOND if wide else 0):
        sys.exit("the database has other data (or a bench run left its user): use an empty one")
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wide-tree", action="store_true", help="add a 50k+10k leader")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-redirects", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="redirect rounds (median)")
    args = parser.parse_args()
    app = bench_app(args.wide_tree)
    if not args.skip_pages:
        checkpoints(app)
        if args.wide_tree:
            leader_pages(app)
        pages(app)
    if not args.skip_redirects:
        with app.app_context():
            code = db.session.scalar(sa.text("SELECT code FROM distributors WHERE id = 1"))
        redirects(os.environ["DATABASE_URL"], code, args.rounds)


if __name__ == "__main__":
    main()
