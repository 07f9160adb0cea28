"""Periodic job announcing commissions that became available (withdrawable)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from portal.commissions.models import Commission, CommissionEvent, CommissionState
from portal.extensions import db
from portal.notifications.models import JobCursor, NotificationKind
from portal.notifications.services import notify
from portal.timeutil import utcnow

CURSOR = "commission_available"
# Events younger than this are left for the next run: a transaction that took an event id
# earlier may still be committing, and reading past it would skip it for good.
SETTLE = timedelta(minutes=2)


def notify_available_commissions(now: datetime | None = None, batch: int = 5000) -> int:
    """Read commission events "→ available" after the cursor and send each beneficiary one
    notification per currency with the count and total. Returns notifications made.

    The first run ever only places the cursor at the end: an existing programme does not
    get its whole history announced.
    """
    now = now or utcnow()
    cursor = db.session.get(JobCursor, CURSOR, with_for_update=True)
    available = CommissionEvent.to_state == CommissionState.AVAILABLE.value
    if cursor is None:
        last = db.session.scalar(select(func.max(CommissionEvent.id)).where(available))
        db.session.add(JobCursor(name=CURSOR, position=last or 0))
        db.session.commit()
        return 0
    rows = db.session.execute(
        select(
            CommissionEvent.id,
            Commission.beneficiary_id,
            Commission.currency,
            CommissionEvent.amount,
        )
        .join(Commission, Commission.id == CommissionEvent.commission_id)
        .where(
            available,
            CommissionEvent.amount > 0,
            CommissionEvent.id > cursor.position,
            CommissionEvent.created_at <= now - SETTLE,
        )
        .order_by(CommissionEvent.id)
        .limit(batch)
    ).all()
    totals: dict[tuple[int, str], tuple[int, Decimal, int]] = {}
    for event_id, beneficiary_id, currency, amount in rows:
        count, total, _ = totals.get((beneficiary_id, currency), (0, Decimal(0), 0))
        totals[(beneficiary_id, currency)] = (count + 1, total + amount, event_id)
    for (beneficiary_id, currency), (count, amount, last_id) in totals.items():
        notify(
            beneficiary_id,
            NotificationKind.COMMISSION_AVAILABLE,
            {"count": count, "amount": str(amount), "currency": currency},
            key=f"commission_available:{beneficiary_id}:{currency}:{last_id}",
        )
    if rows:
        cursor.position = rows[-1][0]
    db.session.commit()
    return len(totals)
