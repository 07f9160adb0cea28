"""Ops decide on flagged orders: release (commission flows on) or reject (reversed)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, select, update

from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions.services import apply_order
from portal.errors import InvalidTransition, ServiceError
from portal.extensions import db
from portal.orders.models import Order
from portal.risk.models import FlagStatus, RiskFlag
from portal.timeutil import utcnow


class ReviewError(ServiceError):
    """A flag decision refused (no reason given, or decided already)."""


def queue_query(status: FlagStatus = FlagStatus.OPEN) -> Select[tuple[Order]]:
    """Orders with flags in ``status``, oldest first."""
    flagged = select(RiskFlag.order_id).where(RiskFlag.status == status)
    return select(Order).where(Order.id.in_(flagged)).order_by(Order.created_at_shop, Order.id)


def flags_for(order_ids: list[int]) -> dict[int, list[RiskFlag]]:
    found: dict[int, list[RiskFlag]] = {}
    for flag in db.session.scalars(
        select(RiskFlag).where(RiskFlag.order_id.in_(order_ids)).order_by(RiskFlag.id)
    ):
        found.setdefault(flag.order_id, []).append(flag)
    return found


def decide(order_id: int, actor: User, release: bool, reason: str = "") -> None:
    """Close every open flag of the order (compare-and-set: a second click changes
    nothing), audit it, then recompute the order's commissions. Commits."""
    reason = reason.strip()
    if not release and not reason:
        raise ReviewError(_("Give a reason; it is kept in the audit log."))
    target = FlagStatus.RELEASED if release else FlagStatus.REJECTED
    closed = db.session.execute(
        update(RiskFlag)
        .where(RiskFlag.order_id == order_id, RiskFlag.status == FlagStatus.OPEN)
        .values(status=target, decided_at=utcnow(), decided_by_id=actor.id, reason=reason or None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        db.session.rollback()
        raise InvalidTransition(_("This order was already decided."))
    audit.record(
        actor,
        f"risk.{'release' if release else 'reject'}",
        "order",
        order_id,
        {"flags": FlagStatus.OPEN.value},
        {"flags": target.value, "reason": reason},
    )
    db.session.commit()
    apply_order(order_id)
