"""Ops re-assign an order to another distributor (a lost coupon, a wrong link).

The order's frozen commission context is dropped and recomputed for the new upline with
today's plan: the old beneficiaries' commissions are reversed through the ledger (a paid
one becomes a negative carry), the new ones start like any new commission, and the risk
rules run again for the new distributor.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions.services import apply_order
from portal.distributors.models import Distributor, DistributorStatus
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.orders.models import Order


class ReassignError(ServiceError):
    """An order that cannot be credited to that distributor."""


def new_distributor(order: Order, code: str, reason: str) -> Distributor:
    """Whom the order would be credited to (what the confirm step names), or
    :class:`ReassignError` when it cannot be re-assigned that way."""
    if not reason.strip():
        raise ReassignError(_("Give a reason; it is kept in the audit log."), "reason")
    target = db.session.scalar(select(Distributor).where(Distributor.code == code.strip().upper()))
    if target is None or target.status is not DistributorStatus.ACTIVE:
        raise ReassignError(_("No active distributor has that code."), "code")
    if order.distributor_id == target.id:
        raise ReassignError(
            _("The order is already credited to %(code)s.", code=target.code), "code"
        )
    return target


def reassign(order_id: int, code: str, reason: str, actor: User) -> Order:
    """Credit the order to the active distributor with ``code``. Commits."""
    reason = reason.strip()
    # The same lock commission runs take, so no run sees a half-changed order.
    db.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(commission_runs=Order.commission_runs)
        .execution_options(synchronize_session=False)
    )
    order = db.session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise NotFound(_("No such order."))
    try:
        target = new_distributor(order, code, reason)
    except ReassignError:
        db.session.rollback()
        raise
    previous = (
        db.session.scalar(select(Distributor.code).where(Distributor.id == order.distributor_id))
        if order.distributor_id
        else None
    )
    before = {"distributor": previous, "method": order.attribution_method}
    order.distributor_id = target.id
    order.attribution_method = "manual"
    order.attribution_evidence = {
        "matched": target.code,
        "previous": previous,
        "previous_method": before["method"],
        "reason": reason,
    }
    order.commission_context = None
    audit.record(
        actor,
        "order.reassign",
        "order",
        order.id,
        before,
        {"distributor": target.code, "method": "manual", "reason": reason},
    )
    db.session.commit()
    apply_order(order_id)
    return order
