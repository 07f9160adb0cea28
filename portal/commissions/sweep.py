"""Orders whose commissions were left undone.

Every intake path stores an order and runs its commissions in one transaction, which
clears the order's ``commissions_due_at`` mark; a mark that outlives its transaction
(a path that stored without running, a run that died after a commit of its own) is work
left undone. The sweep runs it every minute; ``portal ledger verify`` reports marks older
than its grace, so a sweep that cannot keep up is seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.commissions import services
from portal.extensions import db
from portal.orders.models import Order
from portal.timeutil import utcnow

BATCH = 500


def apply_due(limit: int = 50_000) -> int:
    """Run the commissions of every order still marked due, ``BATCH`` orders per
    transaction (each run clears its orders' marks), up to ``limit``. Returns how many
    orders it ran."""
    done, last = 0, 0
    while done < limit:
        ids = list(
            db.session.scalars(
                select(Order.id)
                .where(Order.commissions_due_at.is_not(None), Order.id > last)
                .order_by(Order.id)
                .limit(BATCH)
            )
        )
        if not ids:
            break
        services.apply_orders(ids)
        done += len(ids)
        last = ids[-1]
    db.session.rollback()  # nothing held after the last read
    return done


def overdue(grace: timedelta, now: datetime | None = None) -> list[str]:
    """The problems ``ledger verify`` reports: orders marked due for longer than
    ``grace`` (at most 20 named, and how many in all)."""
    before = (now or utcnow()) - grace
    late = Order.commissions_due_at.is_not(None), Order.commissions_due_at < before
    count = db.session.scalar(select(func.count(Order.id)).where(*late)) or 0
    if not count:
        return []
    rows = db.session.execute(
        select(Order.id, Order.shop_order_id, Order.commissions_due_at)
        .where(*late)
        .order_by(Order.id)
        .limit(20)
    )
    problems = [
        f"order {order_id} (shop order {shop_order_id}): stored {due:%Y-%m-%d %H:%M:%S} UTC, "
        "its commissions never ran"
        for order_id, shop_order_id, due in rows
    ]
    if count > len(problems):
        problems.append(f"… {count - len(problems)} more order(s) whose commissions never ran")
    return problems
