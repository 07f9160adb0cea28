"""Booking and reading the ledger. Every balance is a sum of entries."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select, update

from portal import bulk
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.money import round_money
from portal.timeutil import utcnow

ZERO = Decimal(0)
# Commission states whose money sits in a bucket (paid and reversed ones are settled).
STATE_BUCKETS = {
    CommissionState.PENDING: Bucket.PENDING,
    CommissionState.HOLDING: Bucket.HOLDING,
    CommissionState.AVAILABLE: Bucket.AVAILABLE,
    CommissionState.ON_REVIEW: Bucket.ON_REVIEW,
}


class Journal:
    """Entries collected during one unit of work, written with a single INSERT.

    Batch work (commission runs over many orders) books hundreds of entries; as plain
    rows (:mod:`portal.bulk`) they skip the ORM's per-object bookkeeping. Call
    :meth:`write` before committing.

    Entries are stamped with the unit of work's clock ``at`` (now, unless a caller such as
    the demo seed replays history), so one run's entries share one timestamp.
    """

    def __init__(self, at: datetime | None = None) -> None:
        self.rows: list[dict[str, object]] = []
        self.at = at

    def book(
        self,
        distributor_id: int,
        bucket: Bucket,
        amount: Decimal,
        currency: str,
        kind: EntryKind,
        reference: str,
        commission_id: int | None = None,
    ) -> None:
        """One entry; zero amounts are not booked."""
        if amount == ZERO:
            return
        self.rows.append(
            {
                "distributor_id": distributor_id,
                "bucket": bucket.value,
                "amount": amount,
                "currency": currency,
                "kind": kind.value,
                "reference": reference,
                "commission_id": commission_id,
                "created_at": self.at or utcnow(),
            }
        )

    def transfer(
        self,
        distributor_id: int,
        source: Bucket,
        target: Bucket,
        amount: Decimal,
        currency: str,
        reference: str,
        commission_id: int | None = None,
        kind: EntryKind = EntryKind.TRANSFER,
    ) -> None:
        """Move money between buckets: a pair of entries that sums to zero."""
        if amount == ZERO or source is target:
            return
        self.book(distributor_id, source, -amount, currency, kind, reference, commission_id)
        self.book(distributor_id, target, amount, currency, kind, reference, commission_id)

    def write(self) -> None:
        bulk.insert_rows(LedgerEntry.__table__, self.rows)
        self.rows = []


def lock_distributor(distributor_id: int) -> None:
    """Serialise money work per distributor (withdrawals, manual adjustments), portably:
    this UPDATE takes the row lock on PostgreSQL (FOR NO KEY UPDATE: the id does not
    change, so ledger inserts referencing the row are not blocked) and the write lock on
    SQLite, before anything is read."""
    db.session.execute(
        update(Distributor)
        .where(Distributor.id == distributor_id)
        .values(id=Distributor.id)
        .execution_options(synchronize_session=False)
    )


def balances(distributor_id: int) -> dict[Bucket, Decimal]:
    """Amount per bucket for one distributor (every bucket present, zero when empty)."""
    rows = db.session.execute(
        select(LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.distributor_id == distributor_id)
        .group_by(LedgerEntry.bucket)
    )
    result = dict.fromkeys(Bucket, ZERO)
    # "+ ZERO" turns the -0.0000 of SQLite's float sums into 0.0000.
    result.update({Bucket(bucket): Decimal(total) + ZERO for bucket, total in rows})
    return result


def verify() -> list[str]:
    """Recompute every balance from the entries and check the invariants; [] when sound.

    * the entries of a commission sum to its amount (a reversed one to zero);
    * a commission in pending / holding / available / on_review has all its money in the
      bucket of that name (``STATE_BUCKETS``);
    * transfer entries sum to zero per commission (money moved, never made);
    * no distributor has a negative balance in pending, holding or on_review.
    """
    problems: list[str] = []
    per_commission: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    transfers: dict[int, Decimal] = defaultdict(Decimal)
    rows = db.session.execute(
        select(
            LedgerEntry.commission_id,
            LedgerEntry.bucket,
            func.sum(LedgerEntry.amount),
            func.sum(
                case((LedgerEntry.kind == EntryKind.TRANSFER.value, LedgerEntry.amount), else_=0)
            ),
        )
        .where(LedgerEntry.commission_id.is_not(None))
        .group_by(LedgerEntry.commission_id, LedgerEntry.bucket)
    )
    for commission_id, bucket, total, transferred in rows:
        per_commission[commission_id][bucket] += Decimal(total)
        transfers[commission_id] += Decimal(transferred or 0)
    for commission in db.session.scalars(select(Commission).execution_options(yield_per=1000)):
        buckets = per_commission.get(commission.id, {})
        net = sum(buckets.values(), ZERO)
        if net != commission.amount:
            shown = [round_money(v, commission.currency) for v in (net, commission.amount)]
            problems.append(
                f"commission {commission.id}: entries sum to {shown[0]}, amount is {shown[1]}"
            )
        if commission.state in STATE_BUCKETS:
            outside = {
                b: v for b, v in buckets.items() if b != commission.state.value and v != ZERO
            }
            if outside:
                problems.append(
                    f"commission {commission.id} is {commission.state.value} but holds {outside}"
                )
        if transfers.get(commission.id, ZERO) != ZERO:
            problems.append(
                f"commission {commission.id}: transfers sum to {transfers[commission.id]}"
            )
    # Compared here, not in a HAVING: SQLite sums NUMERIC as floats (-1e-15 is not < 0).
    sums = db.session.execute(
        select(LedgerEntry.distributor_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.bucket.in_(
                [Bucket.PENDING.value, Bucket.HOLDING.value, Bucket.ON_REVIEW.value]
            )
        )
        .group_by(LedgerEntry.distributor_id, LedgerEntry.bucket)
    )
    problems.extend(
        f"distributor {d}: negative {bucket} balance {total}"
        for d, bucket, total in sums
        if Decimal(total) < ZERO
    )
    return problems
