"""Commission rows: the per-order lock, reading an order batch's commissions and ledger
holdings, and writing new commissions and run counters in bulk."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal import bulk
from portal.commissions import engine
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger.models import Bucket, LedgerEntry
from portal.orders.models import Order
from portal.timeutil import utcnow

ZERO = Decimal(0)


@dataclass(slots=True)
class NewCommission:
    """A commission about to be born, as the state machine decided it and the journal reads
    it, without an ORM object (it is inserted as a plain row)."""

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
    def of(cls, c: Commission | NewCommission) -> Applied:
        return cls(c.id, c.order_id, c.beneficiary_id, c.depth, c.state, c.amount, c.hold_until)


def explanation(line: engine.CommissionLine) -> dict[str, Any]:
    """The columns that say how a commission was worked out."""
    return {
        "basis": line.basis,
        "rate": line.rate,
        "fixed": line.fixed,
        "rule_id": line.rule_id,
        "zero_reason": line.zero_reason.value if line.zero_reason else None,
    }


def lock(order_ids: list[int]) -> list[Order]:
    """Serialise commission work per order, portably, and read the orders: on PostgreSQL
    ``SELECT … FOR UPDATE`` takes the row locks in id order (concurrent batches cannot
    deadlock); SQLite ignores FOR UPDATE, so a no-op UPDATE first takes its write lock
    before anything is read. The run counter is bumped when the run ends (:func:`finish`),
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


def finish(orders: list[Order], contexts: dict[int, dict[str, Any]]) -> None:
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


def existing(order_ids: list[int]) -> dict[tuple[int, int, int], Commission]:
    """The orders' commissions by (order, beneficiary, depth) (one query)."""
    if not order_ids:
        return {}
    return {
        (c.order_id, c.beneficiary_id, c.depth): c
        for c in db.session.scalars(
            select(Commission).where(bulk.among(Commission.order_id, order_ids))
        )
    }


def holdings(order_ids: list[int]) -> dict[int, dict[Bucket, Decimal]]:
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


def insert(commissions: list[NewCommission]) -> None:
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
