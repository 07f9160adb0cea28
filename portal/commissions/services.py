"""Applying the engine to stored orders: commissions, their states, and ledger deltas.

:func:`apply_order` is the one path through which an order's commissions change. It is
idempotent and converges: it computes what every commission *should* be given the order as
stored now, compares with what the ledger holds, and books only the difference. Running it
twice, after duplicate deliveries, or with shop events in any order gives the same final
balances.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import selectinload

from portal.commissions import context, engine
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    CommissionState,
)
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.orders.models import COMPLETED, VOID_STATUSES, Order
from portal.risk import screening as risk
from portal.risk.models import FlagStatus
from portal.settings import services as settings
from portal.timeutil import utcnow

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


def _last_own_sales(distributor_ids: list[int], before: datetime) -> dict[int, datetime]:
    rows = db.session.execute(
        select(Order.distributor_id, func.max(Order.created_at_shop))
        .where(
            Order.distributor_id.in_(distributor_ids),
            Order.created_at_shop < before,
            Order.status.not_in(VOID_STATUSES),
        )
        .group_by(Order.distributor_id)
    )
    result = {}
    for distributor_id, at in rows:
        result[distributor_id] = at if at.tzinfo else at.replace(tzinfo=before.tzinfo)
    return result


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


def chain_for(
    distributors: list[Distributor], at: datetime, with_last_sales: bool = True
) -> list[engine.Member]:
    """The chain as the engine sees it. ``last_own_sale_at`` costs a query and is only
    needed by plans with a network requirement."""
    last_sales = _last_own_sales([d.id for d in distributors], at) if with_last_sales else {}
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


def snapshot(order: Order) -> engine.Order:
    return engine.Order(
        order_id=str(order.id),
        currency=order.currency,
        lines=tuple(
            engine.Line(
                line_id=line.shop_line_id,
                product_id=line.product_id,
                variation_id=line.variation_id,
                category_ids=tuple(line.category_ids or ()),
                qty=line.qty,
                total=line.total,
                refunded_total=line.refunded_total,
            )
            for line in order.lines
        ),
        refunded_unallocated=order.refunded_unallocated,
        customer_email=order.customer_email,
        customer_id=order.customer_id,
    )


@dataclass
class _BatchCache:
    """Per-batch lookups. Holding the rows here also keeps them in the session's (weak)
    identity map, so a batch loads each distributor, user and plan once."""

    values: dict[str, Any]
    plans: dict[str, engine.Plan]
    chains: dict[int, list[Distributor]]


def freeze_context(order: Order, cache: _BatchCache) -> dict[str, object] | None:
    """The context in force now for an attributed order (stored on first computation)."""
    if order.distributor_id is None:
        return None
    chain = cache.chains.get(order.distributor_id)
    if chain is None:
        distributor = db.session.get(Distributor, order.distributor_id)
        if distributor is None:
            return None
        chain = cache.chains[order.distributor_id] = upline(distributor)
    role = chain[0].role.value
    if role not in cache.plans:
        cache.plans[role] = plan_for(role)
    plan = cache.plans[role]
    return context.dump(
        plan,
        chain_for(chain, order.created_at_shop, plan.network_sale_days is not None),
        cache.values["max_depth"],
        engine.SelfPurchase(cache.values["self_purchase"]),
        cache.values["currency"],
    )


def compute(order: Order, ctx: dict[str, object] | None = None) -> engine.Result | None:
    """What the order earns under its frozen context (or ``ctx``, for previews)."""
    ctx = ctx or order.commission_context
    if ctx is None:
        return None
    plan, chain, rules = context.load(ctx, order.created_at_shop)
    return engine.compute(snapshot(order), chain, plan, rules)


# --- applying -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The settings an apply run needs, read once per run."""

    currency: str
    return_window: timedelta


RISK_PREFIX = "risk: "


def _desired(
    order: Order,
    commission: Commission,
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
    """Serialise commission work per order, portably: the UPDATE takes PostgreSQL's row
    locks (in id order, so concurrent batches cannot deadlock) and SQLite's write lock
    before anything is read."""
    # FOR UPDATE with ORDER BY takes the row locks in id order (an UPDATE … IN locks in
    # scan order); SQLite ignores it and serialises on the UPDATE's write lock.
    db.session.execute(
        select(Order.id).where(Order.id.in_(order_ids)).order_by(Order.id).with_for_update()
    )
    db.session.execute(
        update(Order)
        .where(Order.id.in_(order_ids))
        .values(commission_runs=Order.commission_runs + 1)
        .execution_options(synchronize_session=False)
    )
    return list(
        db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(Order.id.in_(order_ids))
            .order_by(Order.id)
            .execution_options(populate_existing=True)
        )
    )


def _holdings(order_ids: list[int]) -> dict[int, dict[Bucket, Decimal]]:
    """What the ledger holds per commission of these orders, per bucket (one query)."""
    rows = db.session.execute(
        select(LedgerEntry.commission_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .join(Commission, Commission.id == LedgerEntry.commission_id)
        .where(Commission.order_id.in_(order_ids))
        .group_by(LedgerEntry.commission_id, LedgerEntry.bucket)
    )
    held: dict[int, dict[Bucket, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for commission_id, bucket, total in rows:
        held[commission_id][Bucket(bucket)] += Decimal(total)
    return held


def apply_order(order_id: int, now: datetime | None = None) -> list[Commission]:
    """Bring one order's commissions and ledger in line with the stored order. Commits."""
    return apply_orders([order_id], now)


def apply_orders(order_ids: list[int], now: datetime | None = None) -> list[Commission]:
    """:func:`apply_order` for many orders in one transaction with a fixed number of
    queries per batch (plus the first-time context of new orders). Commits."""
    now = now or utcnow()
    orders = _lock(sorted(set(order_ids)))
    if not orders:
        db.session.rollback()
        return []
    cache = _BatchCache(settings.all_values(), {}, {})
    values = cache.values
    first_runs = []
    for order in orders:
        if order.commission_context is None and order.distributor_id is not None:
            order.commission_context = freeze_context(order, cache)
            first_runs.append(order)
    risk.screen(first_runs, values)
    ids = [order.id for order in orders]
    existing: dict[tuple[int, int, int], Commission] = {
        (c.order_id, c.beneficiary_id, c.depth): c
        for c in db.session.scalars(select(Commission).where(Commission.order_id.in_(ids)))
    }
    targets: dict[tuple[int, int, int], engine.CommissionLine] = {}
    for order in orders:
        result = compute(order)
        for line in result.lines if result else ():
            targets[(order.id, line.beneficiary_id, line.depth)] = line
    rules = Rules(values["currency"], timedelta(days=values["return_window_days"]))
    held = _holdings(ids)
    flagged = risk.holds(ids)
    by_id = {order.id: order for order in orders}
    journal = _Journal(now)
    created = []
    touched = []
    for key in sorted(existing.keys() | targets.keys()):
        line = targets.get(key)
        order = by_id[key[0]]
        commission = existing.get(key)
        if commission is None:
            assert line is not None  # a key without a commission comes from the targets
            # Born in its final state and amount: one INSERT, no UPDATE after it.
            commission = Commission(
                order_id=order.id,
                beneficiary_id=line.beneficiary_id,
                depth=line.depth,
                state=CommissionState.PENDING,
                currency=order.currency,
                amount=ZERO,
                order_created_at=order.created_at_shop,
                seller_id=order.distributor_id,
                **_explanation(line),
            )
            commission.state, commission.amount = _desired(
                order, commission, line, now, rules, flagged.get(order.id)
            )
            db.session.add(commission)
            created.append(commission)
        else:
            if line is not None:
                for name, value in _explanation(line).items():
                    if getattr(commission, name) != value:  # no UPDATE when nothing changed
                        setattr(commission, name, value)
            state, amount = _desired(order, commission, line, now, rules, flagged.get(order.id))
            _settle(journal, order, commission, state, amount, held[commission.id])
        touched.append(commission)
    if created:
        db.session.flush()  # ids for the ledger entries
        for commission in created:
            journal.event(commission, None, commission.state, "computed")
            if commission.state in _BUCKET:
                journal.book(
                    commission.beneficiary_id,
                    _BUCKET[commission.state],
                    commission.amount,
                    commission.currency,
                    EntryKind.ACCRUAL,
                    f"order:{by_id[commission.order_id].shop_order_id}",
                    commission.id,
                )
    journal.write()
    db.session.commit()
    return touched


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
        commission: Commission,
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
        if self.events:
            db.session.execute(insert(CommissionEvent), self.events)
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
