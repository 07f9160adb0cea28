"""Periodic jobs announcing commissions: new ones (an order of yours or of your team
earns you commission) and those that became available (withdrawable)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from portal.commissions.models import Commission, CommissionEvent, CommissionState
from portal.cursors import JobCursor
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.notifications.models import Notification, NotificationKind
from portal.notifications.services import notify
from portal.orders.models import Order
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


NEW_CURSOR = "commission_new"
# A commission held for review (a risk rule's hit) is not announced as earned.
_EARNING = [
    CommissionState.PENDING.value,
    CommissionState.HOLDING.value,
    CommissionState.AVAILABLE.value,
]


def notify_new_commissions(now: datetime | None = None, batch: int = 2000) -> int:
    """Tell each beneficiary of a commission that was just computed with an amount: "order
    N earns you X" for their own sale, "Y in your team made a sale: it earns you X" for a
    team member's — each when the distributor's own setting for it is on. Read from the
    commission events after the cursor (the intake stays one unit of work that writes no
    notices); each commission is announced once (its key). Returns notifications made.

    Like :func:`notify_available_commissions`, the first run only places the cursor.
    """
    now = now or utcnow()
    cursor = db.session.get(JobCursor, NEW_CURSOR, with_for_update=True)
    computed = CommissionEvent.from_state.is_(None)
    if cursor is None:
        last = db.session.scalar(select(func.max(CommissionEvent.id)).where(computed))
        db.session.add(JobCursor(name=NEW_CURSOR, position=last or 0))
        db.session.commit()
        return 0
    beneficiary = aliased(Distributor)
    seller = aliased(Distributor)
    rows = db.session.execute(
        select(
            CommissionEvent.id,
            Commission.id.label("commission_id"),
            Commission.beneficiary_id,
            Commission.depth,
            Commission.currency,
            CommissionEvent.amount,
            Order.id.label("order_id"),
            func.coalesce(Order.number, Order.shop_order_id).label("number"),
            seller.display_name.label("seller"),
            beneficiary.notify_commission,
            beneficiary.notify_team_sale,
        )
        .join(Commission, Commission.id == CommissionEvent.commission_id)
        .join(Order, Order.id == Commission.order_id)
        .join(beneficiary, beneficiary.id == Commission.beneficiary_id)
        .join(seller, seller.id == Commission.seller_id)
        .where(
            computed,
            CommissionEvent.to_state.in_(_EARNING),
            CommissionEvent.id > cursor.position,
            CommissionEvent.created_at <= now - SETTLE,
        )
        .order_by(CommissionEvent.id)
        .limit(batch)
    ).all()
    wanted = [
        row
        for row in rows
        if row.amount > 0 and (row.notify_commission if row.depth == 1 else row.notify_team_sale)
    ]
    keys = {row.commission_id: f"commission:{row.commission_id}" for row in wanted}
    taken = set(
        db.session.scalars(select(Notification.key).where(Notification.key.in_(keys.values())))
        if keys
        else ()
    )
    made = 0
    for row in wanted:
        if keys[row.commission_id] in taken:
            continue
        params = {
            "amount": str(row.amount),
            "currency": row.currency,
            "order": row.number,
            "order_id": row.order_id,
        }
        if row.depth > 1:
            params["name"] = row.seller
        db.session.add(
            Notification(
                distributor_id=row.beneficiary_id,
                kind=NotificationKind.ORDER_COMMISSION
                if row.depth == 1
                else NotificationKind.TEAM_SALE,
                params=params,
                key=keys[row.commission_id],
            )
        )
        made += 1
    if rows:
        cursor.position = rows[-1][0]
    db.session.commit()
    return made
