"""Settling commissions against the ledger: book the difference between what a commission
should hold and what the ledger holds, move its money to its new state's bucket, and keep
the commission's state history — all in one journal written in one go."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from portal import bulk
from portal.commissions import rows
from portal.commissions.models import Commission, CommissionEvent, CommissionState
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind
from portal.orders.models import Order
from portal.timeutil import utcnow

ZERO = Decimal(0)
# Commission states whose money sits in a bucket (paid and reversed ones are settled).
STATE_BUCKETS = {
    CommissionState.PENDING: Bucket.PENDING,
    CommissionState.HOLDING: Bucket.HOLDING,
    CommissionState.AVAILABLE: Bucket.AVAILABLE,
    CommissionState.ON_REVIEW: Bucket.ON_REVIEW,
}
_BUCKET = STATE_BUCKETS


def settle(
    journal: Journal,
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


class Journal(ledger.Journal):
    """Ledger entries plus commission state history, both written in one go."""

    def __init__(self, at: datetime | None = None) -> None:
        super().__init__(at)
        self.events: list[dict[str, object]] = []

    def event(
        self,
        commission: Commission | rows.NewCommission,
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
