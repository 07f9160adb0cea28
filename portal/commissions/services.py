"""Applying the engine to stored orders: commissions, their states, and ledger deltas.

:func:`apply_order` is the one path through which an order's commissions change. It is
idempotent and converges: it computes what every commission *should* be given the order as
stored now, compares with what the ledger holds, and books only the difference. Running it
twice, after duplicate deliveries, or with shop events in any order gives the same final
balances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, Row, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.commissions import bulk, context, engine
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    CommissionState,
    PlanVersion,
)
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.orders.models import COMPLETED, VOID_STATUSES, Order, OrderLine
from portal.risk import screening as risk
from portal.risk.models import FlagStatus
from portal.settings import services as settings
from portal.timeutil import UTCDateTime, utcnow

ZERO = Decimal(0)
_BUCKET = ledger.STATE_BUCKETS


# --- inputs for the engine ------------------------------------------------------------


def plan_for(role: str) -> engine.Plan:
    """The stored plan for a role; a role without one earns nothing (rates 0)."""
    row = db.session.scalar(select(CommissionPlan).where(CommissionPlan.role == role))
    if row is None:
        return engine.Plan(role=role, max_depth=1, rates=(ZERO, ZERO, ZERO))
    return engine.Plan(
        role=row.role,
        max_depth=row.max_depth,
        rates=(row.rate_depth1, row.rate_depth2, row.rate_depth3),
        basis=engine.Basis(row.basis),
        cap_percent=row.cap_percent,
        exclusions=frozenset(x.product_id for x in row.exclusions),
        network_sale_days=row.network_sale_days,
        overrides=tuple(
            engine.Override(o.scope, o.target_id, o.depth, engine.RateKind(o.kind), o.value)
            for o in row.overrides
        ),
    )


def plan_version(plan: engine.Plan) -> int:
    """The id of the version holding this plan's content, created on first use."""
    data = context.dump_plan(plan)
    digest = context.digest(data)
    found = db.session.scalar(select(PlanVersion.id).where(PlanVersion.digest == digest))
    if found is None:
        # Runs freezing the same new plan at once: the INSERT that loses the race does
        # nothing (on PostgreSQL after the winner commits), then reads the winner's row.
        dialect = postgresql if bulk.on_postgresql() else sqlite
        statement = dialect.insert(PlanVersion).values(
            digest=digest, plan=data, created_at=utcnow()
        )
        db.session.execute(statement.on_conflict_do_nothing(index_elements=["digest"]))
        found = db.session.scalar(select(PlanVersion.id).where(PlanVersion.digest == digest))
    assert found is not None
    return found


def plan_versions(ids: list[int]) -> dict[int, engine.Plan]:
    """Stored plan versions by id, as the engine's plans (one query)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(PlanVersion.id, PlanVersion.plan).where(bulk.among(PlanVersion.id, ids))
    )
    return {version: context.load_plan(data) for version, data in rows}


def _last_own_sales(distributor_ids: list[int], before: datetime) -> dict[int, datetime]:
    """Per distributor, their latest own (not void) sale before ``before``."""
    found = _last_own_sales_many([(d, before) for d in distributor_ids])
    return {d: at for (d, _), at in found.items()}


def _last_own_sales_many(
    wanted: Sequence[tuple[int, datetime]],
) -> dict[tuple[int, datetime], datetime]:
    """:func:`_last_own_sales` for many (distributor, moment) pairs: on PostgreSQL one
    query for them all (the pairs as arrays, a correlated MAX per pair); elsewhere one
    query per distinct moment."""
    if not wanted:
        return {}
    latest = select(func.max(Order.created_at_shop)).where(Order.status.not_in(VOID_STATUSES))
    found: dict[tuple[int, datetime], datetime] = {}
    if bulk.on_postgresql():
        pairs = (
            func.unnest(
                bindparam("ids", [d for d, _ in wanted], ARRAY(Integer)),
                bindparam("moments", [at for _, at in wanted], ARRAY(UTCDateTime())),
                bindparam("keys", list(range(len(wanted))), ARRAY(Integer)),
            )
            .table_valued("id", "moment", "key")
            .render_derived()
        )
        by_pair = latest.where(
            Order.distributor_id == pairs.c.id, Order.created_at_shop < pairs.c.moment
        ).scalar_subquery()
        for key, at in db.session.execute(select(pairs.c.key, by_pair)):
            if at is not None:
                found[wanted[key]] = at
        return found
    moments: dict[datetime, list[int]] = defaultdict(list)
    for distributor_id, at in wanted:
        moments[at].append(distributor_id)
    for before, ids in moments.items():
        rows = db.session.execute(
            latest.add_columns(Order.distributor_id)
            .where(Order.distributor_id.in_(ids), Order.created_at_shop < before)
            .group_by(Order.distributor_id)
        )
        for at, distributor_id in rows:
            found[(distributor_id, before)] = at
    return found


def upline(distributor: Distributor) -> list[Distributor]:
    """The distributor and up to two uplines (cycle-safe)."""
    chain: list[Distributor] = []
    current: Distributor | None = distributor
    seen: set[int] = set()
    while current is not None and len(chain) < engine.MAX_DEPTH and current.id not in seen:
        seen.add(current.id)
        chain.append(current)
        current = current.parent
    return chain


def chain_for(distributors: list[Distributor], at: datetime) -> list[engine.Member]:
    """The chain as the engine sees it at ``at`` (with each member's last own sale)."""
    return _members(distributors, _last_own_sales([d.id for d in distributors], at))


def _members(
    distributors: list[Distributor], last_sales: Mapping[int, datetime]
) -> list[engine.Member]:
    return [
        engine.Member(
            distributor_id=d.id,
            role=d.role.value,
            level_rates=(
                (d.level.rate_depth1, d.level.rate_depth2, d.level.rate_depth3)
                if d.level
                else (None, None, None)
            ),
            active=d.status is DistributorStatus.ACTIVE,
            email=d.user.email,
            shop_customer_id=d.shop_customer_id,
            last_own_sale_at=last_sales.get(d.id),
        )
        for d in distributors
    ]


def _line(line: OrderLine | Row[Any]) -> engine.Line:
    """An :class:`OrderLine`, or a row of its columns, as the engine sees it."""
    return engine.Line(
        line_id=line.shop_line_id,
        product_id=line.product_id,
        variation_id=line.variation_id,
        category_ids=tuple(line.category_ids or ()),
        qty=line.qty,
        total=line.total,
        refunded_total=line.refunded_total,
    )


def snapshot(order: Order, lines: tuple[engine.Line, ...] | None = None) -> engine.Order:
    """The order as the engine sees it; ``lines`` when they were read already (else
    ``order.lines``)."""
    return engine.Order(
        order_id=str(order.id),
        currency=order.currency,
        lines=tuple(_line(line) for line in order.lines) if lines is None else lines,
        refunded_unallocated=order.refunded_unallocated,
        customer_email=order.customer_email,
        customer_id=order.customer_id,
    )


def _lines(order_ids: list[int]) -> dict[int, tuple[engine.Line, ...]]:
    """The orders' lines as the engine sees them, read as plain rows (one query, no ORM
    objects: a batch reads several lines per order)."""
    rows = db.session.execute(
        select(
            OrderLine.order_id,
            OrderLine.shop_line_id,
            OrderLine.product_id,
            OrderLine.variation_id,
            OrderLine.category_ids,
            OrderLine.qty,
            OrderLine.total,
            OrderLine.refunded_total,
        )
        .where(bulk.among(OrderLine.order_id, order_ids))
        .order_by(OrderLine.id)
    )
    lines: dict[int, list[engine.Line]] = defaultdict(list)
    for row in rows:
        lines[row.order_id].append(_line(row))
    return {order_id: tuple(order_lines) for order_id, order_lines in lines.items()}


def _load_chains(distributor_ids: set[int]) -> list[Distributor]:
    """The distributors and their uplines to the engine's depth, with users and levels:
    one query per level for the whole batch, after which :func:`upline` and
    :func:`chain_for` find every object in the session instead of lazy-loading each."""
    loaded: list[Distributor] = []
    seen: set[int] = set()
    wanted = distributor_ids
    for _ in range(engine.MAX_DEPTH):
        wanted -= seen
        if not wanted:
            break
        level = list(
            db.session.scalars(
                select(Distributor)
                .options(joinedload(Distributor.user), joinedload(Distributor.level))
                .where(bulk.among(Distributor.id, sorted(wanted)))
            )
        )
        loaded += level
        seen |= wanted
        wanted = {d.parent_id for d in level if d.parent_id is not None}
    return loaded


@dataclass
class _BatchCache:
    """Per-batch lookups. Holding the rows here also keeps them in the session's (weak)
    identity map, so a batch loads each distributor, user and plan once."""

    distributors: list[Distributor]
    values: dict[str, Any]
    plans: dict[str, tuple[engine.Plan, int]]  # per role: the plan and its version's id
    chains: dict[int, list[Distributor]]
    # per attributed distributor, for plans without a network requirement (whose chain
    # does not depend on the order's date)
    dumped_chains: dict[int, list[dict[str, Any]]]


def freeze_contexts(orders: list[Order], cache: _BatchCache) -> dict[int, dict[str, Any]]:
    """The contexts in force now for attributed orders (stored on first computation), by
    order id. The uplines' last own sales, which a plan with a network requirement freezes
    per order, are read for the whole batch at once."""
    picked = []
    for order in orders:
        if order.distributor_id is None:
            continue
        chain = cache.chains.get(order.distributor_id)
        if chain is None:
            distributor = db.session.get(Distributor, order.distributor_id)
            if distributor is None:
                continue
            chain = cache.chains[order.distributor_id] = upline(distributor)
        role = chain[0].role.value
        if role not in cache.plans:
            plan = plan_for(role)
            cache.plans[role] = plan, plan_version(plan)
        picked.append((order, chain, *cache.plans[role]))
    last_sales = _last_own_sales_many(
        sorted(
            {
                (d.id, order.created_at_shop)
                for order, chain, plan, _ in picked
                if plan.network_sale_days is not None
                for d in chain
            }
        )
    )
    contexts = {}
    for order, chain, plan, version in picked:
        if plan.network_sale_days is not None:
            at = order.created_at_shop
            sales = {d.id: last_sales[(d.id, at)] for d in chain if (d.id, at) in last_sales}
            dumped_chain = context.dump_chain(_members(chain, sales))
        elif (dumped_chain := cache.dumped_chains.get(order.distributor_id)) is None:
            dumped_chain = context.dump_chain(_members(chain, {}))
            cache.dumped_chains[order.distributor_id] = dumped_chain
        contexts[order.id] = context.dump(
            version,
            dumped_chain,
            cache.values["max_depth"],
            engine.SelfPurchase(cache.values["self_purchase"]),
            cache.values["currency"],
        )
    return contexts


def compute(
    order: Order, lines: tuple[engine.Line, ...], plans: Mapping[int, engine.Plan]
) -> engine.Result | None:
    """What the order (with these lines) earns under its frozen context; ``plans`` holds
    its plan version (:func:`plan_versions`)."""
    ctx = order.commission_context
    if ctx is None:
        return None
    chain, rules = context.load(ctx, order.created_at_shop)
    return engine.compute(snapshot(order, lines), chain, plans[ctx["plan_version"]], rules)


# --- applying -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The settings an apply run needs, read once per run."""

    currency: str
    return_window: timedelta


RISK_PREFIX = "risk: "


@dataclass(slots=True)
class _NewCommission:
    """A commission about to be born: what :func:`_desired` and the journal read and set,
    without an ORM object (it is inserted as a plain row)."""

    order_id: int
    beneficiary_id: int
    depth: int
    currency: str
    order_created_at: datetime
    seller_id: int
    basis: Decimal
    rate: Decimal | None
    fixed: Decimal | None
    rule_id: str
    zero_reason: str | None
    state: CommissionState = CommissionState.PENDING
    amount: Decimal = ZERO
    review_reason: str | None = None
    hold_until: datetime | None = None
    id: int = 0  # set once inserted

    def row(self, stamp: datetime) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "beneficiary_id": self.beneficiary_id,
            "depth": self.depth,
            "state": self.state,
            "currency": self.currency,
            "amount": self.amount,
            "basis": self.basis,
            "rate": self.rate,
            "fixed": self.fixed,
            "rule_id": self.rule_id,
            "zero_reason": self.zero_reason,
            "review_reason": self.review_reason,
            "hold_until": self.hold_until,
            "order_created_at": self.order_created_at,
            "seller_id": self.seller_id,
            "created_at": stamp,
            "updated_at": stamp,
        }


class Applied(NamedTuple):
    """A commission as an apply run left it."""

    id: int
    order_id: int
    beneficiary_id: int
    depth: int
    state: CommissionState
    amount: Decimal
    hold_until: datetime | None

    @classmethod
    def of(cls, c: Commission | _NewCommission) -> Applied:
        return cls(c.id, c.order_id, c.beneficiary_id, c.depth, c.state, c.amount, c.hold_until)


def _desired(
    order: Order,
    commission: Commission | _NewCommission,
    line: engine.CommissionLine | None,
    now: datetime,
    rules: Rules,
    flagged: tuple[FlagStatus, list[str]] | None = None,
) -> tuple[CommissionState, Decimal]:
    """The state a commission should be in and the amount the ledger should hold for it.

    ``flagged``: the order's risk flags (portal.risk) — open ones hold it on review,
    rejected ones reverse it, released ones let it flow on.
    """
    amount = line.amount if line is not None else ZERO
    if flagged is not None and flagged[0] is FlagStatus.REJECTED:
        line = None  # ops refused the order: reversed like a cancelled one
    if order.status in VOID_STATUSES or line is None:
        amount = ZERO  # cancelled, refunded, trashed — or no longer attributed this way
        if commission.state is not CommissionState.PAID:
            commission.hold_until = None  # a revived order waits a full window again
            return CommissionState.REVERSED, amount
    if commission.state is CommissionState.PAID:
        return CommissionState.PAID, amount  # history stays; changes are carried over
    shop_currency = (order.commission_context or {}).get("currency", rules.currency)
    if order.currency != shop_currency:
        # Never converted: nothing is booked until ops decide.
        commission.review_reason = (
            f"order currency {order.currency} differs from the shop currency {shop_currency}; "
            f"would earn {amount} {order.currency}"
        )
        return CommissionState.ON_REVIEW, ZERO
    if flagged is not None and flagged[0] is FlagStatus.OPEN:
        commission.review_reason = RISK_PREFIX + ", ".join(sorted(set(flagged[1])))
    elif commission.review_reason and commission.review_reason.startswith(RISK_PREFIX):
        commission.review_reason = None  # released
    if commission.review_reason:
        return CommissionState.ON_REVIEW, amount
    if order.status == COMPLETED and order.completed_at is not None:
        if commission.hold_until is None:
            commission.hold_until = order.completed_at + rules.return_window
        if commission.hold_until <= now:
            return CommissionState.AVAILABLE, amount
        return CommissionState.HOLDING, amount
    commission.hold_until = None  # back to pending: completing again restarts the window
    return CommissionState.PENDING, amount


def _explanation(line: engine.CommissionLine) -> dict[str, Any]:
    """The columns that say how a commission was worked out."""
    return {
        "basis": line.basis,
        "rate": line.rate,
        "fixed": line.fixed,
        "rule_id": line.rule_id,
        "zero_reason": line.zero_reason.value if line.zero_reason else None,
    }


def _lock(order_ids: list[int]) -> list[Order]:
    """Serialise commission work per order, portably, and read the orders: on PostgreSQL
    ``SELECT … FOR UPDATE`` takes the row locks in id order (concurrent batches cannot
    deadlock); SQLite ignores FOR UPDATE, so a no-op UPDATE first takes its write lock
    before anything is read. The run counter is bumped when the run ends (:func:`_finish`),
    in the same UPDATE that stores new contexts."""
    if not bulk.on_postgresql():
        db.session.execute(
            update(Order)
            .where(bulk.among(Order.id, order_ids))
            .values(commission_runs=Order.commission_runs)
            .execution_options(synchronize_session=False)
        )
    return list(
        db.session.scalars(
            select(Order)
            .where(bulk.among(Order.id, order_ids))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _finish(orders: list[Order], contexts: dict[int, dict[str, Any]]) -> None:
    """Count the run on every order, clear its "commissions due" mark and store the
    contexts the run froze (already set on the objects): one UPDATE per kind of row — one
    for a batch of new orders."""
    with_context, without = [], []
    for order in orders:
        runs = order.commission_runs + 1
        set_committed_value(order, "commission_runs", runs)
        set_committed_value(order, "commissions_due_at", None)
        row = {"id": order.id, "commission_runs": runs, "commissions_due_at": None}
        ctx = contexts.get(order.id)
        if ctx is None:
            without.append(row)
        else:
            with_context.append(row | {"commission_context": ctx})
    bulk.update_rows(Order.__table__, "id", with_context)
    bulk.update_rows(Order.__table__, "id", without)


def _existing(order_ids: list[int]) -> dict[tuple[int, int, int], Commission]:
    """The orders' commissions by (order, beneficiary, depth) (one query)."""
    if not order_ids:
        return {}
    return {
        (c.order_id, c.beneficiary_id, c.depth): c
        for c in db.session.scalars(
            select(Commission).where(bulk.among(Commission.order_id, order_ids))
        )
    }


def _holdings(order_ids: list[int]) -> dict[int, dict[Bucket, Decimal]]:
    """What the ledger holds per commission of these orders, per bucket (one query)."""
    held: dict[int, dict[Bucket, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if not order_ids:
        return held
    rows = db.session.execute(
        select(LedgerEntry.commission_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .join(Commission, Commission.id == LedgerEntry.commission_id)
        .where(bulk.among(Commission.order_id, order_ids))
        .group_by(LedgerEntry.commission_id, LedgerEntry.bucket)
    )
    for commission_id, bucket, total in rows:
        held[commission_id][Bucket(bucket)] += Decimal(total)
    return held


def apply_order(order_id: int, now: datetime | None = None) -> list[Applied]:
    """Bring one order's commissions and ledger in line with the stored order. Commits."""
    return apply_orders([order_id], now)


def apply_orders(order_ids: list[int], now: datetime | None = None) -> list[Applied]:
    """:func:`run_orders` in a transaction of its own. Commits."""
    applied = run_orders(order_ids, now)
    db.session.commit()
    return applied


def run_orders(order_ids: list[int], now: datetime | None = None) -> list[Applied]:
    """Bring many orders' commissions and ledger in line with the stored orders, in the
    caller's transaction (flushed, not committed: the intake stores orders and runs their
    commissions as one unit of work), with a fixed number of queries per batch (on
    SQLite, plus one per order date when a plan with a network requirement freezes new
    orders).

    New commissions, their events and ledger entries are written as plain rows, one
    statement per table; the orders' run counters and new contexts with one UPDATE;
    changed existing commissions go through the ORM."""
    now = now or utcnow()
    orders = _lock(sorted(set(order_ids)))
    if not orders:
        return []
    first_runs = [
        order
        for order in orders
        if order.commission_context is None and order.distributor_id is not None
    ]
    sellers = {o.distributor_id for o in first_runs if o.distributor_id is not None}
    cache = _BatchCache(_load_chains(sellers), settings.all_values(), {}, {}, {})
    values = cache.values
    frozen = freeze_contexts(first_runs, cache)
    for order in first_runs:
        if order.id in frozen:
            # Stored by _finish with the batch's one UPDATE, not by the unit of work.
            set_committed_value(order, "commission_context", frozen[order.id])
    risk.screen(first_runs, values)
    ids = [order.id for order in orders]
    # Commissions are only ever created by a run, which counts itself on the order: an
    # order never run before has none (nor ledger entries), so it is not looked up.
    ran_before = [order.id for order in orders if order.commission_runs]
    existing = _existing(ran_before)
    lines = _lines(ids)
    plans = {version: plan for plan, version in cache.plans.values()}
    plans |= plan_versions(
        sorted(
            {o.commission_context["plan_version"] for o in orders if o.commission_context}
            - plans.keys()
        )
    )
    targets: dict[tuple[int, int, int], engine.CommissionLine] = {}
    for order in orders:
        result = compute(order, lines.get(order.id, ()), plans)
        for line in result.lines if result else ():
            targets[(order.id, line.beneficiary_id, line.depth)] = line
    rules = Rules(values["currency"], timedelta(days=values["return_window_days"]))
    held = _holdings(ran_before)
    flagged = risk.holds(ids)
    by_id = {order.id: order for order in orders}
    journal = _Journal(now)
    created: list[_NewCommission] = []
    touched: list[Commission | _NewCommission] = []
    for key in sorted(existing.keys() | targets.keys()):
        line = targets.get(key)
        order = by_id[key[0]]
        commission = existing.get(key)
        if commission is None:
            assert line is not None  # a key without a commission comes from the targets
            # Born in its final state and amount: one INSERT, no UPDATE after it.
            new = _NewCommission(
                order_id=order.id,
                beneficiary_id=line.beneficiary_id,
                depth=line.depth,
                currency=order.currency,
                order_created_at=order.created_at_shop,
                seller_id=order.distributor_id,
                **_explanation(line),
            )
            new.state, new.amount = _desired(order, new, line, now, rules, flagged.get(order.id))
            created.append(new)
            touched.append(new)
        else:
            if line is not None:
                for name, value in _explanation(line).items():
                    if getattr(commission, name) != value:  # no UPDATE when nothing changed
                        setattr(commission, name, value)
            state, amount = _desired(order, commission, line, now, rules, flagged.get(order.id))
            _settle(journal, order, commission, state, amount, held[commission.id])
            touched.append(commission)
    _insert(created)  # ids for the ledger entries
    for new in created:
        journal.event(new, None, new.state, "computed")
        if new.state in _BUCKET:
            journal.book(
                new.beneficiary_id,
                _BUCKET[new.state],
                new.amount,
                new.currency,
                EntryKind.ACCRUAL,
                f"order:{by_id[new.order_id].shop_order_id}",
                new.id,
            )
    journal.write()
    _finish(orders, frozen)
    db.session.flush()
    return [Applied.of(commission) for commission in touched]


def _insert(commissions: list[_NewCommission]) -> None:
    """INSERT new commissions with one statement and give them their ids."""
    stamp = utcnow()
    table = Commission.__table__
    returned = bulk.insert_rows(
        table,
        [commission.row(stamp) for commission in commissions],
        returning=(table.c.order_id, table.c.beneficiary_id, table.c.depth, table.c.id),
    )
    ids = {(order, beneficiary, depth): id_ for order, beneficiary, depth, id_ in returned}
    for commission in commissions:
        commission.id = ids[(commission.order_id, commission.beneficiary_id, commission.depth)]


def _settle(
    journal: _Journal,
    order: Order,
    commission: Commission,
    target_state: CommissionState,
    amount: Decimal,
    held: dict[Bucket, Decimal],
) -> None:
    """Book the amount delta, then move the commission's money to its new state's bucket.

    ``held`` is what the ledger holds for this commission per bucket; it is kept current
    as entries are booked, so nothing is read back from the database.
    """
    before_state = commission.state
    booked = sum(held.values(), ZERO)
    delta = amount - booked
    reference = f"order:{order.shop_order_id}"
    if delta != ZERO:
        if before_state is CommissionState.PAID:
            bucket = Bucket.AVAILABLE  # a change after payout is carried into the next one
        elif booked == ZERO and target_state in _BUCKET:
            bucket = _BUCKET[target_state]  # nothing held yet: book where it belongs
        else:
            bucket = _BUCKET.get(before_state, _BUCKET.get(target_state, Bucket.PENDING))
        kind = EntryKind.ACCRUAL if booked == ZERO and delta > ZERO else EntryKind.ADJUSTMENT
        journal.book(
            commission.beneficiary_id,
            bucket,
            delta,
            commission.currency,
            kind,
            reference,
            commission.id,
        )
        held[bucket] += delta
        journal.event(commission, before_state, before_state, f"amount {booked} → {amount}", amount)
    if before_state in _BUCKET and target_state in _BUCKET and before_state is not target_state:
        source, target = _BUCKET[before_state], _BUCKET[target_state]
        moving = held[source]
        journal.transfer(
            commission.beneficiary_id,
            source,
            target,
            moving,
            commission.currency,
            reference,
            commission.id,
        )
        held[source] -= moving
        held[target] += moving
    commission.amount = amount
    if target_state is not before_state:
        commission.state = target_state
        journal.event(commission, before_state, target_state, f"order {order.status}", amount)


class _Journal(ledger.Journal):
    """Ledger entries plus commission state history, both written in one go."""

    def __init__(self, at: datetime | None = None) -> None:
        super().__init__(at)
        self.events: list[dict[str, object]] = []

    def event(
        self,
        commission: Commission | _NewCommission,
        before: CommissionState | None,
        after: CommissionState,
        reason: str,
        amount: Decimal | None = None,
    ) -> None:
        self.events.append(
            {
                "commission_id": commission.id,
                "from_state": before.value if before else None,
                "to_state": after.value,
                "amount": commission.amount if amount is None else amount,
                "reason": reason[:120],
                "created_at": self.at or utcnow(),
            }
        )

    def write(self) -> None:
        super().write()
        bulk.insert_rows(CommissionEvent.__table__, self.events)
        self.events = []


def mature_commissions(now: datetime | None = None, batch: int = 200) -> int:
    """Periodic: holding → available once the return window has passed. Returns the count.

    Goes through :func:`apply_orders`, so maturation takes the same per-order lock as
    every other change and cannot race a refund arriving at the same moment.
    """
    now = now or utcnow()
    order_ids = list(
        db.session.scalars(
            select(Commission.order_id)
            .where(Commission.state == CommissionState.HOLDING, Commission.hold_until <= now)
            .distinct()
        )
    )
    matured = 0
    for start in range(0, len(order_ids), batch):
        for commission in apply_orders(order_ids[start : start + batch], now):
            matured += (
                commission.state is CommissionState.AVAILABLE and commission.hold_until <= now
            )
    return matured


def mark_paid(distributor_id: int, reason: str) -> list[Commission]:
    """Mark the distributor's available commissions paid, first in first out (by
    ``hold_until``, id), while the paid commissions' amounts together stay within the
    ``paid`` bucket. Called when a withdrawal is paid; the caller holds the distributor's
    lock and commits.

    No ledger entries: withdrawals move the money at distributor level, and a paid
    commission's own entries stay in ``available``. A later refund of it books its negative
    delta there (see :func:`_settle`), which the next withdrawal absorbs.
    """
    candidates = select(Commission.order_id).where(
        Commission.beneficiary_id == distributor_id,
        Commission.state == CommissionState.AVAILABLE,
    )
    order_ids = sorted(set(db.session.scalars(candidates)))
    if not order_ids:
        return []
    _lock(order_ids)  # a refund arriving now waits, then sees the paid state
    already_paid = db.session.scalar(
        select(func.coalesce(func.sum(Commission.amount), 0)).where(
            Commission.beneficiary_id == distributor_id,
            Commission.state == CommissionState.PAID,
        )
    )
    room = ledger.balances(distributor_id)[Bucket.PAID] - Decimal(already_paid)
    journal = _Journal()
    marked = []
    for commission in db.session.scalars(
        select(Commission)
        .where(
            Commission.beneficiary_id == distributor_id,
            Commission.state == CommissionState.AVAILABLE,
            Commission.order_id.in_(order_ids),
        )
        .order_by(Commission.hold_until, Commission.id)
        .execution_options(populate_existing=True)
    ):
        if commission.amount > room:
            break
        room -= commission.amount
        commission.state = CommissionState.PAID
        journal.event(commission, CommissionState.AVAILABLE, CommissionState.PAID, reason)
        marked.append(commission)
    journal.write()
    return marked
