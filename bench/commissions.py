"""Commission throughput: the pure engine, and applying orders to the database.

Three figures, printed as a table at the end (nothing is asserted):

1. **Engine** — order lines per second through ``portal.commissions.engine.compute`` for a
   3-level ``product``-basis plan with ~50 product and category overrides, a chain of three
   members with level rates, 2,000 orders of 1–8 lines (refunds, variations, exclusions
   and a cap included). Single thread, no database; best and median of several passes.
   Target: ≥ 50,000 lines/s.
2. **Database** — 1,000 orders attributed to the bottom of a 3-distributor chain, timed
   separately: (a) ``orders.services.store_order`` for each, (b)
   ``commissions.services.apply_order`` for each (commissions, events and ledger entries,
   one commit per order), (c) another 1,000 stored orders through
   ``commissions.services.apply_orders`` in batches of 100, one transaction each, as a
   queue drain applies them (after an ANALYZE on PostgreSQL, as on a live database) —
   the figure the target is for: ≥ 1,000 applied orders/s — with the statements one
   such batch sends (a fixed number, whatever its size). On
   PostgreSQL running on this machine, also the CPU its backend spent per batched order
   (from /proc): with this process's CPU it bounds the rate one client reaches when nothing
   else runs ("CPU-bound orders/s"), a figure other load barely moves.
3. **Probe** — the same database's rate of single-row autocommit INSERTs into a scratch
   table (dropped afterwards). The apply rates divided by it are comparable across machines
   and disks: it says how many commit-bound round trips one order costs. On a shared
   machine every figure moves with the load: run it a few times, compare the ratios.

Run it against SQLite (a temp file, the default) or an EMPTY PostgreSQL database; it
refuses a database that already has users, and leaves its data behind (drop the database)::

    python bench/commissions.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<empty db> python bench/commissions.py
"""

from __future__ import annotations

import gc
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from portal import create_app
from portal.accounts.models import Role, User
from portal.commissions import engine
from portal.commissions import services as commissions
from portal.commissions.models import Commission, CommissionPlan, PlanExclusion, PlanOverride
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import LedgerEntry
from portal.orders.services import Attribution, LineData, OrderData, store_order
from portal.timeutil import utcnow

SEED = 20240601
ENGINE_ORDERS = 2_000
ENGINE_PASSES = 7
DB_ORDERS = 1_000
WARMUP_ORDERS = 25  # stored and applied before timing (statement cache, query count)
BATCH = 100  # orders per apply_orders() transaction, as a queue drain would apply them
PROBE_ROWS = 2_000
ENGINE_TARGET = 50_000  # lines/s
APPLY_TARGET = 1_000  # orders/s

PRODUCTS = [f"p{n}" for n in range(200)]
CATEGORIES = [f"c{n}" for n in range(20)]
EXCLUDED = frozenset({"p198", "p199"})
PLAN_RATES = (Decimal("10"), Decimal("3"), Decimal("1"))


# --- workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    line_id: str
    product_id: str
    variation_id: str | None
    category_ids: tuple[str, ...]
    qty: int
    total: Decimal
    refunded_total: Decimal


@dataclass(frozen=True)
class OrderSpec:
    number: int
    created_at: datetime
    completed: bool
    lines: tuple[LineSpec, ...]
    refunded_unallocated: Decimal
    customer_email: str


def make_overrides(rng: random.Random) -> tuple[engine.Override, ...]:
    """30 product and 20 category overrides over depths 1..3, percent or fixed per unit."""
    overrides: dict[tuple[str, str, int], engine.Override] = {}
    targets = [("product", p) for p in rng.sample(PRODUCTS[:150], 30)]
    targets += [("category", c) for c in rng.sample(CATEGORIES, 10)] * 2
    for scope, target in targets:
        depth = rng.randint(1, 3)
        while (scope, target, depth) in overrides:
            depth = depth % 3 + 1
        if rng.random() < 0.7:
            kind, value = engine.RateKind.PERCENT, Decimal(rng.randint(5, 150)) / 10
        else:
            kind, value = engine.RateKind.FIXED, Decimal(rng.randint(10, 500)) / 100
        overrides[(scope, target, depth)] = engine.Override(scope, target, depth, kind, value)
    return tuple(overrides.values())


def make_orders(rng: random.Random, count: int, now: datetime) -> list[OrderSpec]:
    orders = []
    for n in range(count):
        lines = []
        for i in range(rng.randint(1, 8)):
            product = rng.choice(PRODUCTS)
            qty = rng.randint(1, 5)
            total = Decimal(rng.randint(199, 25_000)) / 100 * qty
            refunded = total / 2 if rng.random() < 0.05 else Decimal(0)
            lines.append(
                LineSpec(
                    line_id=f"{n}-{i}",
                    product_id=product,
                    variation_id=f"{product}v{rng.randint(1, 3)}" if rng.random() < 0.3 else None,
                    category_ids=tuple(rng.sample(CATEGORIES, rng.randint(1, 2))),
                    qty=qty,
                    total=total.quantize(Decimal("0.01")),
                    refunded_total=refunded.quantize(Decimal("0.01")),
                )
            )
        orders.append(
            OrderSpec(
                number=n,
                created_at=now - timedelta(minutes=rng.randint(60, 30 * 24 * 60)),
                completed=rng.random() < 0.3,
                lines=tuple(lines),
                refunded_unallocated=Decimal("5.00") if rng.random() < 0.03 else Decimal(0),
                customer_email=f"customer{rng.randint(1, 500)}@shop.example",
            )
        )
    return orders


def to_engine(spec: OrderSpec) -> engine.Order:
    return engine.Order(
        order_id=str(spec.number),
        currency="USD",
        lines=tuple(
            engine.Line(
                line_id=line.line_id,
                product_id=line.product_id,
                variation_id=line.variation_id,
                category_ids=line.category_ids,
                qty=line.qty,
                total=line.total,
                refunded_total=line.refunded_total,
            )
            for line in spec.lines
        ),
        refunded_unallocated=spec.refunded_unallocated,
        customer_email=spec.customer_email,
    )


def to_order_data(spec: OrderSpec, distributor_id: int, coupon: str) -> OrderData:
    completed_at = spec.created_at + timedelta(hours=1) if spec.completed else None
    return OrderData(
        shop_order_id=f"bench-{spec.number}",
        number=str(spec.number),
        status="completed" if spec.completed else "processing",
        currency="USD",
        created_at=spec.created_at,
        modified_at=completed_at or spec.created_at,
        completed_at=completed_at,
        customer_email=spec.customer_email,
        refunded_unallocated=spec.refunded_unallocated,
        attribution=Attribution(distributor_id, "coupon", {"coupon": coupon}),
        lines=tuple(
            LineData(
                shop_line_id=line.line_id,
                product_id=line.product_id,
                variation_id=line.variation_id,
                category_ids=line.category_ids,
                qty=line.qty,
                total=line.total,
                name=f"Product {line.product_id}",
                refunded_total=line.refunded_total,
            )
            for line in spec.lines
        ),
    )


# --- 1. the pure engine ---------------------------------------------------------------


@dataclass(frozen=True)
class EngineFigures:
    orders: int
    lines: int
    best: float  # lines/s
    median: float
    total: Decimal


def bench_engine(overrides: tuple[engine.Override, ...]) -> EngineFigures:
    now = utcnow()
    rng = random.Random(SEED)
    orders = [to_engine(spec) for spec in make_orders(rng, ENGINE_ORDERS, now)]
    plan = engine.Plan(
        role="affiliate",
        max_depth=3,
        rates=PLAN_RATES,
        basis=engine.Basis.PRODUCT,
        cap_percent=Decimal("30"),
        exclusions=EXCLUDED,
        overrides=overrides,
    )
    chain = [
        engine.Member(3, "affiliate", (Decimal("12"), None, None), email="d3@bench.example"),
        engine.Member(2, "affiliate", (None, Decimal("3.5"), None), email="d2@bench.example"),
        engine.Member(1, "affiliate", (None, None, None), email="d1@bench.example"),
    ]
    settings = engine.Settings(now=now)
    lines = sum(len(order.lines) for order in orders)
    rates = []
    total = Decimal(0)
    for _ in range(ENGINE_PASSES):
        start = time.perf_counter()
        results = [engine.compute(order, chain, plan, settings) for order in orders]
        rates.append(lines / (time.perf_counter() - start))
        total = sum((result.total for result in results), Decimal(0))
    return EngineFigures(len(orders), lines, max(rates), statistics.median(rates), total)


# --- 2. and 3. the database -----------------------------------------------------------


@dataclass(frozen=True)
class DatabaseFigures:
    backend: str
    store: Timing
    apply: Timing
    batched: Timing  # apply_orders in batches of BATCH
    batched_server_cpu: float | None  # seconds of the PostgreSQL backend's CPU, if readable
    probe: float  # single-row autocommit inserts/s
    queries_per_apply: float
    queries_per_batch: float
    commissions: int
    ledger_entries: int
    problems: int


def refuse_unless_empty() -> None:
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        has_users = sa.inspect(db.engine).has_table("users")
    except sa.exc.OperationalError as exc:
        sys.exit(f"bench/commissions.py: cannot reach {url}: {exc.orig}".splitlines()[0])
    if not has_users:
        return
    with db.engine.connect() as conn:
        count = conn.scalar(sa.text("SELECT count(*) FROM users"))
    if count:
        sys.exit(
            f"bench/commissions.py: refusing to run: {url} has {count} users "
            "(it needs an empty database)"
        )


def make_chain() -> tuple[int, str]:
    """Three active affiliates, each the parent of the next; returns the bottom one."""
    password_hash = generate_password_hash("x", method="pbkdf2:sha256:1")
    parent_id = None
    bottom = None
    for depth in (1, 2, 3):
        user = User(email=f"d{depth}@bench.example", role=Role.DISTRIBUTOR)
        user.password_hash = password_hash
        bottom = Distributor(
            user=user,
            code=codes.generate(),
            display_name=f"Bench {depth}",
            status=DistributorStatus.ACTIVE,
            role=DistributorRole.AFFILIATE,
            parent_id=parent_id,
            joined_at=utcnow(),
        )
        db.session.add(bottom)
        db.session.commit()
        parent_id = bottom.id
    assert bottom is not None
    return bottom.id, bottom.code


def make_plan(overrides: tuple[engine.Override, ...]) -> None:
    plan = CommissionPlan(
        role="affiliate",
        max_depth=3,
        rate_depth1=PLAN_RATES[0],
        rate_depth2=PLAN_RATES[1],
        rate_depth3=PLAN_RATES[2],
        basis="product",
    )
    plan.overrides = [
        PlanOverride(
            scope=o.scope, target_id=o.target_id, depth=o.depth, kind=o.kind.value, value=o.value
        )
        for o in overrides
    ]
    plan.exclusions = [PlanExclusion(product_id=p) for p in sorted(EXCLUDED)]
    db.session.add(plan)
    db.session.commit()


@dataclass(frozen=True)
class Timing:
    count: int
    wall: float  # seconds
    cpu: float  # seconds of this process (the rest is waiting for the database)

    @property
    def per_second(self) -> float:
        return self.count / self.wall

    @property
    def cpu_ms_each(self) -> float:
        return 1000 * self.cpu / self.count


def timed(count: int, work: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Timing(count, time.perf_counter() - wall, time.process_time() - cpu)


class StatementCounter:
    def __init__(self, target: sa.Engine) -> None:
        self.target = target
        self.count = 0

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.target, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.target, "before_cursor_execute", self._seen)


def backend_pid() -> int | None:
    """The PostgreSQL backend serving the session's transaction (started here, without a
    statement: psycopg knows its backend's pid)."""
    dbapi = db.session.connection().connection.dbapi_connection
    info = getattr(dbapi, "info", None)
    return getattr(info, "backend_pid", None)


def backend_cpu(pid: int) -> float | None:
    """CPU seconds the backend process has used, from /proc when the server runs on this
    machine (None otherwise): unlike wall time, hardly moved by other load."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"postgres" not in f.read():
                return None
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def probe_inserts() -> float:
    """Single-row INSERTs, each committed on its own, into a scratch table."""
    metadata = sa.MetaData()
    table = sa.Table(
        "bench_probe",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("v", sa.Text),
    )
    metadata.drop_all(db.engine)
    metadata.create_all(db.engine)
    try:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            statement = table.insert()
            start = time.perf_counter()
            for n in range(PROBE_ROWS):
                conn.execute(statement, {"v": f"row {n}"})
            return PROBE_ROWS / (time.perf_counter() - start)
    finally:
        metadata.drop_all(db.engine)


def bench_database(app: Flask, overrides: tuple[engine.Override, ...]) -> DatabaseFigures:
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        backend = db.engine.url.get_backend_name()
        make_plan(overrides)
        distributor_id, coupon = make_chain()
        now = utcnow()
        specs = make_orders(random.Random(SEED + 1), WARMUP_ORDERS + 2 * DB_ORDERS, now)
        data = [to_order_data(spec, distributor_id, coupon) for spec in specs]
        warmup = data[:WARMUP_ORDERS]
        measured = data[WARMUP_ORDERS : WARMUP_ORDERS + DB_ORDERS]
        for_batches = data[WARMUP_ORDERS + DB_ORDERS :]

        # The workload above (thousands of order objects) is the bench's, not a worker's:
        # frozen, Python's full collections do not rescan it (rescanning it costs about as
        # much as an apply batch's own work). A worker can gc.freeze() its start-up heap
        # the same way.
        gc.collect()
        gc.freeze()
        counter = StatementCounter(db.engine)
        for n, order in enumerate(warmup):
            stored = store_order(order)
            if n == 0:  # the first run warms caches up: not counted
                commissions.apply_order(stored.order_id, now)
                continue
            with counter:
                commissions.apply_order(stored.order_id, now)
        # a mean: the count varies a little with the order (state, zero amounts)
        queries_per_apply = counter.count / (len(warmup) - 1)
        db.session.remove()

        order_ids: list[int] = []

        def store_all() -> None:
            for order in measured:
                order_ids.append(store_order(order).order_id)

        def apply_all() -> None:
            for order_id in order_ids:
                commissions.apply_order(order_id, now)

        store = timed(len(measured), store_all)
        db.session.remove()
        apply = timed(len(measured), apply_all)
        db.session.remove()

        batch_ids = [store_order(order).order_id for order in for_batches]
        if backend == "postgresql":
            # Statistics, as autovacuum keeps them on a live database: without any, the
            # planner guesses, and reads all order lines for a batch's hundred orders.
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()

        server_cpu: list[float | None] = []

        def apply_batched() -> None:
            for start in range(0, len(batch_ids), BATCH):
                pid = backend_pid() if backend == "postgresql" else None
                before = backend_cpu(pid) if pid else None
                commissions.apply_orders(batch_ids[start : start + BATCH], now)
                after = backend_cpu(pid) if before is not None and pid else None
                server_cpu.append(None if after is None or before is None else after - before)

        batch_counter = StatementCounter(db.engine)
        with batch_counter:  # a listener costs microseconds a statement, batches send few
            batched = timed(len(batch_ids), apply_batched)
        db.session.remove()

        probe = probe_inserts()
        known = [seconds for seconds in server_cpu if seconds is not None]
        return DatabaseFigures(
            backend=backend,
            store=store,
            apply=apply,
            batched=batched,
            batched_server_cpu=sum(known) if len(known) == len(server_cpu) else None,
            probe=probe,
            queries_per_apply=queries_per_apply,
            queries_per_batch=batch_counter.count * BATCH / len(batch_ids),
            commissions=db.session.scalar(sa.select(sa.func.count()).select_from(Commission)),
            ledger_entries=db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)),
            problems=len(ledger.verify()),
        )


# --- report ---------------------------------------------------------------------------


def server_rows(tag: str, dbf: DatabaseFigures) -> list[tuple[str, str, str]]:
    """CPU per batched order in the server too, when it could be read: the two together
    bound the rate one client reaches on an otherwise idle machine, whatever the load now."""
    if dbf.batched_server_cpu is None:
        return []
    server_ms = 1000 * dbf.batched_server_cpu / dbf.batched.count
    both = dbf.batched.cpu_ms_each + server_ms
    return [
        (f"{tag} batched server CPU ms/order", f"{server_ms:.2f}", ""),
        (f"{tag} CPU-bound orders/s, {BATCH}/txn", f"{1000 / both:,.0f}", ""),
    ]


def main() -> None:
    instance = tempfile.mkdtemp(prefix="portal-bench-")
    try:
        report(instance)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def report(instance: str) -> None:
    os.environ["PORTAL_INSTANCE_PATH"] = instance
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        refuse_unless_empty()  # before anything else: a wrong DATABASE_URL costs nothing
        backend = db.engine.url.get_backend_name()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")

    overrides = make_overrides(random.Random(SEED))
    print(f"engine: {ENGINE_ORDERS} orders × {ENGINE_PASSES} passes, {len(overrides)} overrides…")
    eng = bench_engine(overrides)

    if backend == "sqlite":
        print("database: SQLite temp file (set DATABASE_URL=postgresql://… for PostgreSQL)")
    print(f"database: storing and applying {DB_ORDERS} orders, probing {PROBE_ROWS} inserts…")
    dbf = bench_database(app, overrides)

    tag = f"[{dbf.backend}]"
    rows = [
        ("engine lines/s (best)", f"{eng.best:,.0f}", f"≥ {ENGINE_TARGET:,}"),
        ("engine lines/s (median)", f"{eng.median:,.0f}", ""),
        ("engine orders/s (best)", f"{eng.best * eng.orders / eng.lines:,.0f}", ""),
        (f"{tag} store orders/s", f"{dbf.store.per_second:,.0f}", ""),
        (f"{tag} apply orders/s", f"{dbf.apply.per_second:,.0f}", f"≥ {APPLY_TARGET:,}"),
        (
            f"{tag} apply orders/s, {BATCH}/txn",
            f"{dbf.batched.per_second:,.0f}",
            f"≥ {APPLY_TARGET:,}",
        ),
        (f"{tag} probe inserts/s", f"{dbf.probe:,.0f}", ""),
        (f"{tag} store / probe", f"{dbf.store.per_second / dbf.probe:.3f}", ""),
        (f"{tag} apply / probe", f"{dbf.apply.per_second / dbf.probe:.3f}", ""),
        (f"{tag} batched apply / probe", f"{dbf.batched.per_second / dbf.probe:.3f}", ""),
        (f"{tag} store CPU ms/order", f"{dbf.store.cpu_ms_each:.1f}", ""),
        (f"{tag} apply CPU ms/order", f"{dbf.apply.cpu_ms_each:.1f}", ""),
        (f"{tag} batched CPU ms/order", f"{dbf.batched.cpu_ms_each:.2f}", ""),
        *server_rows(tag, dbf),
        (f"{tag} statements/apply", f"{dbf.queries_per_apply:.1f}", ""),
        (f"{tag} statements/batch", f"{dbf.queries_per_batch:.1f}", ""),
    ]
    print()
    print(f"{'figure':<42} {'value':>10}  {'target':<10}")
    for name, value, target in rows:
        print(f"{name:<42} {value:>10}  {target:<10}")
    print()
    print(
        f"engine: {eng.lines:,} lines in {eng.orders:,} orders, total commission {eng.total}; "
        f"database: {dbf.commissions:,} commissions, {dbf.ledger_entries:,} ledger entries, "
        f"ledger.verify() problems: {dbf.problems}"
    )
    if backend == "sqlite":
        print("note: SQLite temp file with the portal's defaults (rollback journal, full sync)")
    else:
        print("the database now holds the bench data: drop it before running again")


if __name__ == "__main__":
    main()
