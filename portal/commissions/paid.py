"""Marking commissions paid when a withdrawal is paid."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal.commissions import rows, settling
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket


def mark_paid(distributor_id: int, reason: str) -> list[Commission]:
    """Mark the distributor's available commissions paid, first in first out (by
    ``hold_until``, id), while the paid commissions' amounts together stay within the
    ``paid`` bucket. Called when a withdrawal is paid; the caller holds the distributor's
    lock and commits.

    No ledger entries: withdrawals move the money at distributor level, and a paid
    commission's own entries stay in ``available``. A later refund of it books its negative
    delta there (see :func:`portal.commissions.settling.settle`), which the next withdrawal absorbs.
    """
    candidates = select(Commission.order_id).where(
        Commission.beneficiary_id == distributor_id,
        Commission.state == CommissionState.AVAILABLE,
    )
    order_ids = sorted(set(db.session.scalars(candidates)))
    if not order_ids:
        return []
    rows.lock(order_ids)  # a refund arriving now waits, then sees the paid state
    already_paid = db.session.scalar(
        select(func.coalesce(func.sum(Commission.amount), 0)).where(
            Commission.beneficiary_id == distributor_id,
            Commission.state == CommissionState.PAID,
        )
    )
    room = ledger.balances(distributor_id)[Bucket.PAID] - Decimal(already_paid)
    journal = settling.Journal()
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
