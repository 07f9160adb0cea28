"""WooCommerce bridge speed (issue #4): webhook acceptance, end to end, REST sync.

One bench per run; each prints figures and ratios (nothing is asserted) and needs an EMPTY
PostgreSQL database, which it fills (drop and create it before every run), plus Redis for
the first two (``REDIS_URL``, default ``redis://127.0.0.1:6379/8``; the bench uses a queue
of its own and empties it afterwards)::

    dropdb --if-exists -h 127.0.0.1 -U postgres portal_woo_bench
    createdb -h 127.0.0.1 -U postgres portal_woo_bench
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_woo_bench \\
        python bench/woocommerce_bridge.py webhook|e2e|sync [--rounds N] [--orders N]

1. ``webhook`` — **acceptance**: deliveries signed exactly as WooCommerce signs them
   (base64 HMAC-SHA256 of the raw body) POSTed to ``/woocommerce/webhook`` under gunicorn
   with 2 workers on PostgreSQL + Redis (verify, store the raw delivery, enqueue the
   drain), deliveries/s from ``--clients`` (default 4) client threads, beside a bare 200
   endpoint in the same app that receives the very same requests. The workers keep their
   metrics as under ``gunicorn.conf.py`` (prometheus_client's multiprocess mode). Rounds
   alternate bare / webhook; best and median of each, with the machine's load. Target
   ratio ≥ 0.5.
2. ``e2e`` — **end to end**: ``--orders`` (default 6,000) distinct orders, each attributed
   by coupon or ``_portal_ref`` to the bottom of 3-level chains, delivered to gunicorn
   (2 workers) as fast as 4 threads can, while one real ``portal worker`` process drains
   the inbox into orders, commissions and ledger entries. Orders/s from the first delivery
   to the moment the last order's commissions are booked (the bench polls the database).
   Target ≥ 300 orders/s.
3. ``sync`` — **REST reconciliation**: the loopback FakeShop of the tests (a real HTTP
   server, ``tests/woo.py``) serving ``--orders`` (default 100,000) orders made on demand
   (mixed statuses, refunds, coupons, ref meta, utm, repeat customers) and 50 products,
   100 per page with ``X-WP-Total`` / ``X-WP-TotalPages``; ``portal woo sync --full`` in
   its own process, timed from start to exit: products, orders and commissions stored.
   Target ≤ 90 s.

4. ``drain`` — **the intake itself**: ``--orders`` (default 6,000) deliveries stored in the
   inbox, then one in-process ``inbox.drain()`` timed: deliveries → orders, commissions and
   ledger entries per second. ``--poison-every N`` makes every Nth delivery unmappable,
   so its batch is taken again one delivery at a time (the cost of per-row isolation).

Every bench ends with ``ledger verify`` on what it booked. While ``e2e`` and ``sync`` fill
the empty tables, the bench runs ANALYZE every 10 s, as autovacuum would on a live server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from rq import Queue, Worker

from plugins.woocommerce_bridge import inbox
from plugins.woocommerce_bridge.signatures import sign
from portal import create_app
from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.commissions.models import CommissionPlan
from portal.distributors.codes import ALPHABET
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.jobs import INTAKE, QUEUES
from portal.ledger import services as ledger
from tests.woo import API_SECRET, KEY, FakeShop, LazyOrders, ShopServer

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"  # noqa: S105
THREADS = 4
ACCEPT_TARGET = 0.5  # webhook / bare
E2E_TARGET = 300  # orders/s
SYNC_TARGET = 90  # seconds
CHAINS = 100  # 3-level chains of distributors: top, middle, seller
PRODUCTS = 50
T0 = datetime(2026, 1, 1, tzinfo=UTC)

WRAPPER = """
from flask import jsonify, request

from portal.extensions import csrf
from wsgi import app


@csrf.exempt
def bare_200():
    request.get_data(cache=False)
    return jsonify({"status": "ok"})


app.add_url_rule("/bench/bare-200", view_func=bare_200, methods=["POST"])
"""


# --- the shop's data --------------------------------------------------------------------


def code(n: int) -> str:
    """A well-formed referral code for seller ``n``."""
    digits = ""
    while True:
        n, rest = divmod(n, len(ALPHABET))
        digits = ALPHABET[rest] + digits
        if not n:
            return "W" + digits.rjust(5, ALPHABET[0])


def _gmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S")


def woo_order(n: int, sellers: int) -> dict[str, Any]:
    """Order ``n`` as WooCommerce's REST v3 and webhooks send it; modified in ``n`` order.

    A mix like a real shop's: most orders completed or processing, some refunded in part
    or in full, some cancelled; sellers skewed (a few bring most orders, as in
    bench/centre.py); 70 % carry a seller's coupon, 10 % the companion plugin's
    ``_portal_ref``, 10 % order-attribution utm values, 10 % nothing (repeat customers are
    then credited by binding).
    """
    rng = random.Random(n)
    modified = T0 + timedelta(seconds=n)
    created = modified - timedelta(hours=rng.randint(0, 48))
    seller = code(1 + int(sellers * rng.random() ** 3))  # skewed: a few sell the most
    kind = n % 10
    status = rng.choices(
        ("completed", "processing", "refunded", "cancelled", "on-hold"), (60, 28, 5, 4, 3)
    )[0]
    lines = []
    for i in range(rng.randint(1, 3)):
        qty = rng.randint(1, 4)
        lines.append(
            {
                "id": n * 10 + i,
                "product_id": 1 + rng.randrange(PRODUCTS),
                "variation_id": 0,
                "quantity": qty,
                "total": f"{Decimal(rng.randint(500, 9000)) / 100 * qty:.2f}",
                "total_tax": "0.00",
                "name": f"Product {i}",
            }
        )
    goods = sum(Decimal(line["total"]) for line in lines)
    refunds = []
    if status == "refunded":
        refunds = [{"id": n, "total": f"-{goods:.2f}"}]
    elif status == "completed" and rng.random() < 0.05:
        refunds = [{"id": n, "total": f"-{goods / 4:.2f}"}]
    meta = []
    if kind == 7:
        meta = [{"id": 1, "key": "_portal_ref", "value": seller}]
    elif kind == 8:
        meta = [
            {"id": 1, "key": "_wc_order_attribution_utm_source", "value": "portal"},
            {"id": 2, "key": "_wc_order_attribution_utm_campaign", "value": seller},
        ]
    done = status in ("completed", "refunded")
    return {
        "id": n,
        "number": str(n),
        "status": status,
        "currency": "USD",
        "date_created_gmt": _gmt(created),
        "date_modified_gmt": _gmt(modified),
        "date_completed_gmt": _gmt(modified) if done else None,
        "customer_id": 0,
        "billing": {"email": f"buyer{rng.randrange(20_000)}@example.com"},
        "customer_ip_address": f"203.0.{n % 250}.{n % 200 + 1}",
        "customer_user_agent": "Mozilla/5.0 (Linux; Android 14) Mobile",
        "line_items": lines,
        "coupon_lines": [{"id": 1, "code": seller.lower()}] if kind < 7 else [],
        "refunds": refunds,
        "meta_data": meta,
    }


def woo_product(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"Product {n}",
        "price": "25.00",
        "permalink": f"https://shop.bench.example/p/{n}",
        "images": [],
        "categories": [{"id": 100 + n % 7}],
    }


def seed(app: Flask, chains: int) -> int:
    """Distributors in 3-level chains (sellers at the bottom), a 10/3/1 % plan and the
    catalogue. Returns the number of sellers; seller ``n`` has ``code(n)``."""
    with app.app_context():
        for n in range(1, chains * 3 + 1):
            user = User(email=f"d{n}@bench.example", role=Role.DISTRIBUTOR, password_hash="x")  # noqa: S106
            db.session.add(
                Distributor(
                    user=user,
                    code=code(n),
                    display_name=f"Bench {n}",
                    status=DistributorStatus.ACTIVE,
                    role=DistributorRole.AFFILIATE,
                    joined_at=T0 - timedelta(days=30),
                )
            )
        db.session.flush()
        # Sellers 1..chains, their parents chains+1.., grandparents 2*chains+1..
        db.session.execute(
            sa.text("UPDATE distributors SET parent_id = id + :c WHERE id <= :two"),
            {"c": chains, "two": chains * 2},
        )
        db.session.add(
            CommissionPlan(
                role="affiliate",
                max_depth=3,
                rate_depth1=Decimal("10"),
                rate_depth2=Decimal("3"),
                rate_depth3=Decimal("1"),
                basis="product",
            )
        )
        for n in range(1, PRODUCTS + 1):
            db.session.add(
                Product(product_id=str(n), name=f"Product {n}", category_ids=[str(100 + n % 7)])
            )
        db.session.commit()
    return chains


# --- processes ----------------------------------------------------------------------------


@contextmanager
def autoanalyze(database_url: str, seconds: float = 10) -> Iterator[None]:
    """ANALYZE every ``seconds`` while the tables grow from empty, as autovacuum does on a
    live server (it is off on the CI-like one): without statistics, apply_orders' ledger
    query turns into a sequential scan and every page gets slower than the last."""
    stop = threading.Event()
    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")

    def run() -> None:
        while not stop.wait(seconds):
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _script(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@contextmanager
def services(database_url: str, redis_url: str, queue: str) -> Iterator[tuple[int, dict]]:
    """gunicorn -w 2 on a free port (the app plus the bare endpoint); yields (port, env)."""
    folder = tempfile.mkdtemp(prefix="portal-bench-")
    Path(folder, "bench_app.py").write_text(WRAPPER)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PORTAL_QUEUE": queue,
        "PORTAL_INSTANCE_PATH": folder,
        "SECRET_KEY": "bench-secret-key",
        "WOO_WEBHOOK_SECRET": SECRET,
        "PYTHONPATH": os.pathsep.join([folder, str(ROOT)]),
        # The workers share their metrics as under gunicorn.conf.py (multiprocess mode).
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(dir=folder, prefix="metrics-"),
    }
    # Run in the temp folder: the bench measures the app, not a gunicorn.conf.py it finds.
    command = [_script("gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "bench_app:app"]
    server = subprocess.Popen(
        [*command, "--log-level", "warning"], env=env, cwd=folder, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not come up"
                time.sleep(0.2)
        yield port, env
    finally:
        server.terminate()
        server.wait(timeout=60)  # a loaded machine takes a while to stop it
        shutil.rmtree(folder, ignore_errors=True)
        conn = redis.Redis.from_url(redis_url)
        for name in QUEUES:
            Queue(f"{queue}-{name}", connection=conn).empty()
        for key in conn.scan_iter(f"{queue}:*"):
            conn.delete(key)


def request_bytes(port: int, path: str, topic: str, body: bytes, delivery: str) -> bytes:
    """One raw HTTP request, headers as WooCommerce sends them."""
    headers = {
        "Host": f"127.0.0.1:{port}",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "X-WC-Webhook-Source": "https://shop.bench.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": sign(SECRET, body),
        "X-WC-Webhook-ID": "4",
        "X-WC-Webhook-Delivery-ID": delivery,
        "Connection": "close",
    }
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


def _send(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(raw)
        answer = sock.recv(65536)
        while sock.recv(65536):
            pass
    return answer


def load(port: int, requests: list[bytes], seconds: float | None, threads: int = THREADS) -> float:
    """Requests/s from ``threads`` clients: for ``seconds`` (cycling through ``requests``)
    or, with ``None``, until each request was sent once. Every answer must be a 200."""
    sent = [0] * threads
    failures: list[bytes] = []
    start = time.monotonic()
    stop = start + (seconds or 0)

    def run(slot: int) -> None:
        i = slot
        while (time.monotonic() < stop) if seconds else (i < len(requests)):
            answer = _send(port, requests[i % len(requests)])
            if not answer.startswith(b"HTTP/1.1 200"):
                failures.append(answer[:200])
            sent[slot] += 1
            i += threads

    workers = [threading.Thread(target=run, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start
    assert not failures, failures[:3]
    return sum(sent) / elapsed


def _summary(label: str, values: list[float], unit: str) -> str:
    return f"{label:<34} best {max(values):>7.0f}  median {statistics.median(values):>7.0f} {unit}"


# --- 1. webhook acceptance ----------------------------------------------------------------


def bench_webhook(
    app: Flask, database_url: str, redis_url: str, rounds: int, clients: int = THREADS
) -> None:
    queue = f"bench-woo-{os.getpid()}"
    bodies = [json.dumps(woo_order(n, 100)).encode() for n in range(1, 2001)]
    print(f"payload: {statistics.mean(map(len, bodies)):.0f} bytes on average")
    with services(database_url, redis_url, queue) as (port, _env):
        hook = [
            request_bytes(port, "/woocommerce/webhook", "order.updated", body, f"d{n}")
            for n, body in enumerate(bodies)
        ]
        bare = [
            request_bytes(port, "/bench/bare-200", "order.updated", body, f"d{n}")
            for n, body in enumerate(bodies)
        ]
        load(port, bare, 2)  # warm up both workers and their connections
        load(port, hook, 2)
        figures: dict[str, list[float]] = {"bare": [], "webhook": []}
        for n in range(rounds):
            figures["bare"].append(load(port, bare, 10, clients))
            figures["webhook"].append(load(port, hook, 10, clients))
            ratio = figures["webhook"][-1] / figures["bare"][-1]
            print(
                f"round {n + 1}: bare {figures['bare'][-1]:>6.0f}/s  "
                f"webhook {figures['webhook'][-1]:>6.0f}/s  ratio {ratio:.2f}   "
                f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
                flush=True,
            )
        with app.app_context():
            stored = db.session.scalar(sa.text("SELECT count(*) FROM woo_inbox"))
        jobs = Queue(f"{queue}-{INTAKE}", connection=redis.Redis.from_url(redis_url)).count
    print(f"\ngunicorn -w 2, PostgreSQL + Redis, {clients} client threads, {rounds} rounds")
    print(_summary("bare 200 (same requests)", figures["bare"], "req/s"))
    print(_summary("/woocommerce/webhook", figures["webhook"], "deliveries/s"))
    best = max(figures["webhook"]) / max(figures["bare"])
    median = statistics.median(figures["webhook"]) / statistics.median(figures["bare"])
    print(f"ratio: best {best:.2f}, median {median:.2f}   (target ≥ {ACCEPT_TARGET})")
    print(f"inbox rows stored: {stored}; drain jobs queued: {jobs}")


# --- 2. end to end ------------------------------------------------------------------------


def bench_e2e(app: Flask, database_url: str, redis_url: str, count: int) -> None:
    sellers = seed(app, CHAINS)
    queue = f"bench-woo-{os.getpid()}"
    bodies = [json.dumps(woo_order(n, sellers)).encode() for n in range(1, count + 1)]
    with autoanalyze(database_url), services(database_url, redis_url, queue) as (port, env):
        worker = subprocess.Popen(
            [_script("portal"), "worker"],
            env=env,
            cwd=env["PORTAL_INSTANCE_PATH"],
            stdout=subprocess.DEVNULL,
        )
        try:
            conn = redis.Redis.from_url(redis_url)
            deadline = time.monotonic() + 30
            while not Worker.count(queue=Queue(f"{queue}-{INTAKE}", connection=conn)):
                assert worker.poll() is None, "portal worker exited"
                assert time.monotonic() < deadline, "portal worker did not come up"
                time.sleep(0.2)
            hook = [
                request_bytes(port, "/woocommerce/webhook", "order.created", body, f"e{n}")
                for n, body in enumerate(bodies)
            ]
            start = time.monotonic()
            rate = load(port, hook, None)
            delivered = time.monotonic() - start
            with app.app_context():
                while True:
                    done = db.session.scalar(
                        sa.text("SELECT count(*) FROM orders WHERE commission_runs > 0")
                    )
                    db.session.commit()
                    if done >= count:
                        break
                    assert worker.poll() is None, "portal worker exited"
                    time.sleep(0.1)
                booked = time.monotonic() - start
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    with app.app_context():
        figures = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM commissions), (SELECT count(*) FROM ledger_entries),"
                " (SELECT count(*) FROM woo_inbox WHERE processed_at IS NULL)"
            )
        ).one()
        problems = ledger.verify()
    print(f"\n{count} orders, gunicorn -w 2 + one portal worker, PostgreSQL + Redis")
    print(f"delivered in {delivered:6.1f} s   {rate:>6.0f} deliveries/s")
    print(
        f"booked in    {booked:6.1f} s   {count / booked:>6.0f} orders/s"
        f"   (target ≥ {E2E_TARGET}/s; drain lag after the last delivery"
        f" {booked - delivered:.1f} s)"
    )
    print(f"commissions {figures[0]}, ledger entries {figures[1]}, unprocessed {figures[2]}")
    print(f"ledger verify: {'clean' if not problems else problems[:5]}")


# --- 4. drain -----------------------------------------------------------------------------


def bench_drain(app: Flask, count: int, poison_every: int) -> None:
    """``count`` deliveries stored in the inbox (no queue), then one in-process drain
    timed: deliveries → orders, commissions and ledger entries per second, the speed of
    the intake itself. ``poison_every``: every Nth delivery cannot be mapped, so its
    batch is taken again one delivery at a time."""
    sellers = seed(app, CHAINS)
    with app.app_context():
        for n in range(1, count + 1):
            payload = woo_order(n, sellers)
            if poison_every and n % poison_every == 0:
                payload["line_items"][0]["total"] = "1e30"
            inbox.store(
                "order.created", {"X-WC-Webhook-Delivery-ID": f"d{n}"}, json.dumps(payload).encode()
            )
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        start = time.monotonic()
        done = inbox.drain(limit=count)
        took = time.monotonic() - start
        problems = ledger.verify()
    poisoned = f", every {poison_every}th poisoned" if poison_every else ""
    print(f"\n{count} deliveries{poisoned}, one in-process drain, PostgreSQL")
    print(f"drained in {took:6.1f} s   {done / took:>6.0f} deliveries/s   ({done} processed)")
    print(f"ledger verify: {'clean' if not problems else problems[:5]}")


# --- 3. REST sync -------------------------------------------------------------------------


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: on a loaded machine a
    steadier figure than the wall clock (PostgreSQL's own work is not in it)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_sync(app: Flask, database_url: str, count: int, profile: str | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per page served
    sellers = seed(app, CHAINS)
    shop = FakeShop(
        products={n: woo_product(n) for n in range(1, PRODUCTS + 1)},
        lazy_orders=LazyOrders(count, lambda n: woo_order(n, sellers)),
    )
    # The fake shop's index of every order (its refunds endpoint searches it), made before
    # the clock starts: made on the first refund asked for, under load it took longer than
    # the portal's 10 s lookup timeout.
    shop.lazy_orders.latest()
    folder = tempfile.mkdtemp(prefix="portal-bench-")
    with autoanalyze(database_url), ShopServer(shop) as server:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORTAL_INSTANCE_PATH": folder,
            "SECRET_KEY": "bench-secret-key",
            "WOO_STORE_URL": server.url,
            "WOO_CONSUMER_KEY": KEY,
            "WOO_CONSUMER_SECRET": API_SECRET,
        }
        env.pop("REDIS_URL", None)
        command = [_script("portal"), "woo", "sync", "--full"]
        if profile:  # the sync under cProfile (slower: for where the time goes, not how much)
            command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
        start, cpu = time.monotonic(), _children_cpu()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed, cpu = time.monotonic() - start, _children_cpu() - cpu
    shutil.rmtree(folder, ignore_errors=True)
    if result.returncode:
        sys.exit(result.stderr)
    with app.app_context():
        figures = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM orders),"
                " (SELECT count(*) FROM orders WHERE distributor_id IS NOT NULL),"
                " (SELECT count(*) FROM commissions), (SELECT count(*) FROM ledger_entries)"
            )
        ).one()
        problems = ledger.verify()
    pages = sum("/orders" in r for r in shop.requests)
    print(f"\n{result.stdout.strip()} ({pages} order pages)")
    print(
        f"portal woo sync --full: {elapsed:6.1f} s   {count / elapsed:>6.0f} orders/s"
        f"   (target ≤ {SYNC_TARGET} s; the sync process used {cpu:.1f} s of CPU)"
    )
    print(f"load: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"orders {figures[0]} (attributed {figures[1]}), commissions {figures[2]},")
    print(
        f"ledger entries {figures[3]}; ledger verify: {'clean' if not problems else problems[:5]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", choices=("webhook", "e2e", "sync", "drain"))
    parser.add_argument("--rounds", type=int, default=3, help="webhook: bare/webhook rounds")
    parser.add_argument("--clients", type=int, default=THREADS, help="webhook: client threads")
    parser.add_argument("--orders", type=int, help="e2e, drain: 6,000; sync: 100,000")
    parser.add_argument("--poison-every", type=int, default=0, help="drain: every Nth is bad")
    parser.add_argument("--profile", help="sync: write the sync's cProfile statistics here")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to an empty PostgreSQL database")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/8"
    os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        if db.session.scalar(sa.text("SELECT count(*) FROM users")) or db.session.scalar(
            sa.text("SELECT count(*) FROM woo_inbox")
        ):
            sys.exit("the database has data: drop and create it before every run")
    if args.bench == "webhook":
        bench_webhook(app, url, redis_url, args.rounds, args.clients)
    elif args.bench == "e2e":
        bench_e2e(app, url, redis_url, args.orders or 6_000)
    elif args.bench == "drain":
        bench_drain(app, args.orders or 6_000, args.poison_every)
    else:
        bench_sync(app, url, args.orders or 100_000, args.profile)


if __name__ == "__main__":
    main()
