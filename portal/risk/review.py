"""Ops decide on flagged orders: release (commission flows on) or reject (reversed).

One order or many take the same path (:func:`decide_many`): the orders' commission locks,
the flags closed with one compare-and-set UPDATE, the audit entries in one INSERT and one
commission run, a transaction per batch."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.orm import selectinload

from portal import bulk
from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions.models import Commission
from portal.commissions.services import lock_orders, run_orders
from portal.distributors.models import Distributor
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


BATCH = 1000  # orders per transaction


def order(order_id: int) -> Order | None:
    return db.session.get(Order, order_id)


def evidence(orders: list[Order]) -> dict[str, Any]:
    """What the queue shows beside each order: its flags, its seller, its commissions."""
    ids = [o.id for o in orders]
    sellers = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor)
            .options(selectinload(Distributor.user))
            .where(Distributor.id.in_({o.distributor_id for o in orders}))
        )
    }
    held: dict[int, list[Commission]] = {}
    for c in db.session.scalars(select(Commission).where(Commission.order_id.in_(ids))):
        held.setdefault(c.order_id, []).append(c)
    return {"flags": flags_for(ids), "sellers": sellers, "commissions": held}


def decide(order_id: int, actor: User, release: bool, reason: str = "") -> None:
    """Close every open flag of the order (compare-and-set: a second click changes
    nothing), audit it, then recompute the order's commissions, in the caller's unit of
    work (the request commits)."""
    if not _close([order_id], actor, release, _checked(release, reason)):
        raise InvalidTransition(_("This order was already decided."))


def decide_many(
    order_ids: list[int], actor: User, release: bool, reason: str = "", batch: int = BATCH
) -> list[int]:
    """Release or reject the open flags of many orders; returns the ids of the orders this
    call decided (an order with no open flag left — decided already, by this or a
    concurrent review — is skipped). Commits once per batch.

    The orders' commission locks come first, in id order, as every commission run takes
    them: two reviews of overlapping orders wait for each other, never deadlock, and each
    flag is closed by exactly one of them."""
    reason = _checked(release, reason)
    ids = sorted(set(order_ids))
    decided: list[int] = []
    for start in range(0, len(ids), batch):
        decided += _close(ids[start : start + batch], actor, release, reason)
        db.session.commit()  # a batch is a unit of work of its own
    return decided


def _checked(release: bool, reason: str) -> str:
    reason = reason.strip()
    if not release and not reason:
        raise ReviewError(_("Give a reason; it is kept in the audit log."))
    return reason


def _close(chunk: list[int], actor: User, release: bool, reason: str) -> list[int]:
    """Close the open flags of these orders under their commission locks, audit them and
    rerun their commissions (flushed, not committed); the ids of the orders closed."""
    target = FlagStatus.RELEASED if release else FlagStatus.REJECTED
    lock_orders(chunk)
    closed = sorted(
        set(
            db.session.scalars(
                update(RiskFlag)
                .where(bulk.among(RiskFlag.order_id, chunk), RiskFlag.status == FlagStatus.OPEN)
                .values(
                    status=target,
                    decided_at=utcnow(),
                    decided_by_id=actor.id,
                    reason=reason or None,
                )
                .returning(RiskFlag.order_id),
                execution_options={"synchronize_session": False},
            )
        )
    )
    audit.record_many(
        actor,
        f"risk.{'release' if release else 'reject'}",
        "order",
        [
            (order_id, {"flags": FlagStatus.OPEN.value}, {"flags": target.value, "reason": reason})
            for order_id in closed
        ],
    )
    run_orders(closed)
    return closed
