"""Applying the engine to stored orders: commissions, their states, and ledger deltas.

:func:`apply_order` is the one path through which an order's commissions change. It is
idempotent and converges: it computes what every commission *should* be given the order as
stored now, compares with what the ledger holds, and books only the difference. Running it
twice, after duplicate deliveries, or with shop events in any order gives the same final
balances.

This module runs the steps; each job lives in a module of its own, and the names other
packages use are re-exported here:

* :mod:`~portal.commissions.versions` — the plan for a role and its frozen versions;
* :mod:`~portal.commissions.chains` — upline chains and their last own sales;
* :mod:`~portal.commissions.snapshots` — stored orders as the engine sees them;
* :mod:`~portal.commissions.freezing` — an order's context frozen on its first run, and
  what it earns under it (:mod:`~portal.commissions.engine`, pure);
* :mod:`~portal.commissions.states` — the state machine (pure): state, amount, hold date
  and review reason of each commission;
* :mod:`~portal.commissions.rows` — the per-order lock and bulk reads and writes;
* :mod:`~portal.commissions.settling` — booking the difference in the ledger;
* :mod:`~portal.commissions.paid` — marking commissions paid when a withdrawal is paid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from portal.commissions import chains, engine, freezing, rows, settling, snapshots, states, versions
from portal.commissions.chains import chain_for, upline
from portal.commissions.freezing import compute, freeze_contexts
from portal.commissions.models import Commission, CommissionState
from portal.commissions.paid import mark_paid
from portal.commissions.rows import Applied
from portal.commissions.snapshots import snapshot
from portal.commissions.states import RISK_PREFIX, Rules
from portal.commissions.versions import plan_for, plan_version, plan_versions
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind
from portal.orders.models import Order
from portal.settings import services as settings
from portal.timeutil import utcnow

__all__ = [
    "RISK_PREFIX",
    "Applied",
    "Rules",
    "apply_order",
    "apply_orders",
    "chain_for",
    "compute",
    "freeze_contexts",
    "mark_paid",
    "mature_commissions",
    "plan_for",
    "plan_version",
    "plan_versions",
    "run_orders",
    "snapshot",
    "upline",
]

_BUCKET = settling.STATE_BUCKETS


class Screening(Protocol):
    """Risk control as a commission run sees it: new orders screened, and per flagged order
    its flag's status and rules. :mod:`portal.risk.screening` puts itself in
    :data:`SCREENING` when the app starts (commissions do not import risk)."""

    def screen(self, orders: Sequence[Order], values: dict[str, Any]) -> None: ...

    def holds(self, order_ids: list[int]) -> Mapping[int, tuple[str, list[str]]]: ...


SCREENING: list[Screening] = []


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
    orders = rows.lock(sorted(set(order_ids)))
    if not orders:
        return []
    first_runs, frozen, cache = _freeze_first_runs(orders)
    for screening in SCREENING:
        screening.screen(first_runs, cache.values)
    ids = [order.id for order in orders]
    # Commissions are only ever created by a run, which counts itself on the order: an
    # order never run before has none (nor ledger entries), so it is not looked up.
    ran_before = [order.id for order in orders if order.commission_runs]
    existing = rows.existing(ran_before)
    targets = _targets(orders, snapshots.read_lines(ids), _plans(orders, cache))
    run = _Run(
        now,
        Rules(cache.values["currency"], timedelta(days=cache.values["return_window_days"])),
        rows.holdings(ran_before),
        {k: v for screening in SCREENING for k, v in screening.holds(ids).items()},
        {order.id: order for order in orders},
        settling.Journal(now),
        handed_over=_handed_over(orders, cache.values),
    )
    for key in sorted(existing.keys() | targets.keys()):
        commission, line = existing.get(key), targets.get(key)
        if commission is None:
            assert line is not None  # a key without a commission comes from the targets
            run.create(run.orders[key[0]], line)
        else:
            run.update(run.orders[key[0]], commission, line)
    run.write_created()
    run.journal.write()
    rows.finish(orders, frozen)
    db.session.flush()
    return [Applied.of(commission) for commission in run.touched]


def _freeze_first_runs(
    orders: list[Order],
) -> tuple[list[Order], dict[int, dict[str, Any]], freezing.BatchCache]:
    """Freeze the context of the attributed orders never run before: those orders, their
    contexts by order id (set on the objects as stored; :func:`rows.finish` writes them)
    and the batch's cache of chains, plans and settings."""
    first_runs = [
        order
        for order in orders
        if order.commission_context is None and order.distributor_id is not None
    ]
    sellers = {o.distributor_id for o in first_runs if o.distributor_id is not None}
    cache = freezing.BatchCache(chains.load_chains(sellers), settings.all_values(), {}, {}, {})
    frozen = freeze_contexts(first_runs, cache)
    for order in first_runs:
        if order.id in frozen:
            # Stored by rows.finish with the batch's one UPDATE, not by the unit of work.
            set_committed_value(order, "commission_context", frozen[order.id])
    return first_runs, frozen, cache


# When orders collected at a pickup point were handed over (order id -> time), as the
# pickup package answers it: it registers the one function at start-up
# (``portal.pickup.services.install``), so commissions never import it.
HandedOver = Callable[[list[int]], dict[int, datetime]]
HANDED_OVER: list[HandedOver] = []


def _handed_over(orders: list[Order], values: Mapping[str, Any]) -> dict[int, datetime] | None:
    """With the setting on, the hand-over times of the batch's pickup orders (``None``:
    the setting is off, the shop's completion decides)."""
    if not values.get("pickup_matures_on_handover") or not HANDED_OVER:
        return None
    pickups = [o.id for o in orders if o.pickup_point_id is not None]
    return HANDED_OVER[0](pickups) if pickups else {}


def _plans(orders: list[Order], cache: freezing.BatchCache) -> dict[int, engine.Plan]:
    """The plan versions the orders' contexts name: those frozen in this batch, the others
    read in one query."""
    plans = {version: plan for plan, version in cache.plans.values()}
    wanted = {o.commission_context["plan_version"] for o in orders if o.commission_context}
    return plans | versions.plan_versions(sorted(wanted - plans.keys()))


def _targets(
    orders: list[Order],
    lines: Mapping[int, tuple[engine.Line, ...]],
    plans: Mapping[int, engine.Plan],
) -> dict[tuple[int, int, int], engine.CommissionLine]:
    """What every order earns now, by (order, beneficiary, depth)."""
    targets: dict[tuple[int, int, int], engine.CommissionLine] = {}
    for order in orders:
        result = compute(order, lines.get(order.id, ()), plans)
        for line in result.lines if result else ():
            targets[(order.id, line.beneficiary_id, line.depth)] = line
    return targets


@dataclass
class _Run:
    """One apply run over a batch of locked orders: decides each commission's state and
    collects what to write."""

    now: datetime
    rules: Rules
    held: dict[int, dict[Bucket, Decimal]]  # per existing commission, per bucket
    flagged: Mapping[int, Any]  # per order: its risk flag (status, reasons)
    orders: dict[int, Order]
    journal: settling.Journal
    created: list[rows.NewCommission] = field(default_factory=list)
    touched: list[Commission | rows.NewCommission] = field(default_factory=list)

    # per order: the facts and flag its commissions are decided on (read once per order)
    facts: dict[int, tuple[states.OrderFacts, states.Flag | None]] = field(default_factory=dict)
    # pickup orders' hand-over times when they mature from it (None: the setting is off)
    handed_over: dict[int, datetime] | None = None

    def decide(
        self, order: Order, standing: states.Standing, line: engine.CommissionLine | None
    ) -> states.Decision:
        known = self.facts.get(order.id)
        if known is None:
            flagged = self.flagged.get(order.id)
            context = order.commission_context or {}
            status, completed_at = order.status, order.completed_at
            if self.handed_over is not None and order.pickup_point_id is not None:
                # matures from the hand-over: complete once handed over (and still paid)
                handed = self.handed_over.get(order.id)
                if status in ("processing", "completed"):
                    status, completed_at = ("completed", handed) if handed else ("processing", None)
            known = self.facts[order.id] = (
                states.OrderFacts(
                    status=status,
                    completed_at=completed_at,
                    currency=order.currency,
                    shop_currency=context.get("currency", self.rules.currency),
                ),
                states.Flag(*flagged) if flagged is not None else None,
            )
        facts, flag = known
        earned = line.amount if line is not None else None
        return states.decide(standing, earned, facts, flag, self.now, self.rules.return_window)

    def create(self, order: Order, line: engine.CommissionLine) -> None:
        """A new commission, born in its final state and amount: one INSERT, no UPDATE."""
        decision = self.decide(order, states.Standing(), line)
        new = rows.NewCommission(
            order_id=order.id,
            beneficiary_id=line.beneficiary_id,
            depth=line.depth,
            currency=order.currency,
            order_created_at=order.created_at_shop,
            seller_id=order.distributor_id,
            **rows.explanation(line),
            state=decision.state,
            amount=decision.amount,
            review_reason=decision.review_reason,
            hold_until=decision.hold_until,
        )
        self.created.append(new)
        self.touched.append(new)

    def update(
        self, order: Order, commission: Commission, line: engine.CommissionLine | None
    ) -> None:
        """An existing commission brought to its decision; the ledger books the difference."""
        if line is not None:
            for name, value in rows.explanation(line).items():
                if getattr(commission, name) != value:  # no UPDATE when nothing changed
                    setattr(commission, name, value)
        standing = states.Standing(
            commission.state, commission.hold_until, commission.review_reason
        )
        decision = self.decide(order, standing, line)
        if commission.hold_until != decision.hold_until:
            commission.hold_until = decision.hold_until
        if commission.review_reason != decision.review_reason:
            commission.review_reason = decision.review_reason
        settling.settle(
            self.journal,
            order,
            commission,
            decision.state,
            decision.amount,
            self.held[commission.id],
        )
        self.touched.append(commission)

    def write_created(self) -> None:
        """INSERT the new commissions (ids for the ledger entries), then journal their
        first event and accrual."""
        rows.insert(self.created)
        for new in self.created:
            self.journal.event(new, None, new.state, "computed")
            if new.state in _BUCKET:
                self.journal.book(
                    new.beneficiary_id,
                    _BUCKET[new.state],
                    new.amount,
                    new.currency,
                    EntryKind.ACCRUAL,
                    f"order:{self.orders[new.order_id].shop_order_id}",
                    new.id,
                )


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
