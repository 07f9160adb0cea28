"""Pickup points and the pick list.

A group leader (社群团长) proposes a pickup point; ops approve it; the companion plugin
then offers it at checkout to buyers who came through the leader's link, and an order
collected there belongs to the leader (``portal.orders.attribution``). The leader's pick
list shows the orders to hand out at their point, and they mark each one handed over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions import services as commissions
from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.errors import InvalidTransition, NotFound, ServiceError
from portal.extensions import db
from portal.links import poster_services
from portal.orders import attribution
from portal.orders.models import Order
from portal.pickup import rounds
from portal.pickup.models import Handover, PickupPoint, PointStatus
from portal.risk.qualifying import PAID_STATUSES
from portal.timeutil import utcnow


class NotAtPoint(NotFound):
    """The order is not one of this pickup point's (the view answers 404)."""


class PickupError(ServiceError):
    """A refused change to a pickup point or an order's hand-over."""


def approved_points(leaders: set[int]) -> dict[int, int]:
    """The approved point of each of these leaders: distributor id -> point id."""
    return dict(
        db.session.execute(
            select(PickupPoint.distributor_id, PickupPoint.id).where(
                PickupPoint.distributor_id.in_(leaders),
                PickupPoint.status == PointStatus.APPROVED,
            )
        ).all()
    )


def install() -> None:
    """Let the intake's attribution credit orders collected at approved points, and a
    leader's posters say by when their group orders a product of an open round."""
    attribution.APPROVED_POINTS[:] = [approved_points]
    poster_services.DEADLINES[:] = [rounds.deadline_for]
    commissions.HANDED_OVER[:] = [handed_over]


def handed_over(order_ids: list[int]) -> dict[int, datetime]:
    """When each of these orders was handed over at its pickup point."""
    return dict(
        db.session.execute(
            select(Handover.order_id, Handover.handed_over_at).where(
                Handover.order_id.in_(order_ids)
            )
        ).all()
    )


def may_have_point(distributor: Distributor) -> bool:
    return (
        distributor.role is DistributorRole.GROUP_LEADER
        and distributor.status is DistributorStatus.ACTIVE
    )


def point_of(distributor_id: int) -> PickupPoint | None:
    return db.session.scalar(
        select(PickupPoint).where(PickupPoint.distributor_id == distributor_id)
    )


def save(distributor: Distributor, name: str, address: str, hours: str, actor: User) -> PickupPoint:
    """Propose the leader's point, or change it — which sends it back to review (the shop
    offers only what ops approved). Flushed; the caller commits."""
    if not may_have_point(distributor):
        raise PickupError(_("Pickup points are for active group leaders."))
    point = point_of(distributor.id)
    before = None
    if point is None:
        point = PickupPoint(distributor_id=distributor.id)
        db.session.add(point)
    else:
        if (point.name, point.address, point.hours) == (name, address, hours):
            return point
        before = {
            "name": point.name,
            "address": point.address,
            "hours": point.hours,
            "status": point.status.value,
        }
    point.name, point.address, point.hours = name, address, hours
    point.status = PointStatus.PENDING
    point.review_note = None
    point.updated_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "pickup.propose",
        "pickup_point",
        point.id,
        before,
        {"name": name, "address": address, "hours": hours},
    )
    return point


def review(point_id: int, actor: User, approve: bool, note: str | None) -> PickupPoint:
    """Ops approve or reject a point waiting for review; a rejection says why."""
    point = db.session.get(PickupPoint, point_id, with_for_update=True)
    if point is None:
        raise NotFound(_("No such pickup point."))
    if point.status is not PointStatus.PENDING:
        raise InvalidTransition(_("This pickup point was already reviewed."))
    if not approve and not (note or "").strip():
        raise PickupError(_("Say why, so the leader can fix it."), "note")
    point.status = PointStatus.APPROVED if approve else PointStatus.REJECTED
    point.review_note = (note or "").strip() or None
    point.reviewed_by_id = actor.id
    point.reviewed_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "pickup.approve" if approve else "pickup.reject",
        "pickup_point",
        point.id,
        None,
        {"note": point.review_note},
    )
    return point


def waiting() -> Select[tuple[PickupPoint]]:
    """Points waiting for review, oldest first (the ops queue)."""
    return (
        select(PickupPoint)
        .where(PickupPoint.status == PointStatus.PENDING)
        .options(selectinload(PickupPoint.distributor))
        .order_by(PickupPoint.updated_at, PickupPoint.id)
    )


def offered(code: str) -> PickupPoint | None:
    """The approved point of the active leader with this code: what the shop offers."""
    leader = distributors.find_active(code)
    if leader is None or not may_have_point(leader):
        return None
    point = point_of(leader.id)
    return point if point is not None and point.status is PointStatus.APPROVED else None


# --- the pick list ---------------------------------------------------------------------


@dataclass(frozen=True)
class PickRow:
    order: Order
    paid: bool
    handed_over_at: datetime | None


def pick_list(
    point: PickupPoint,
    day: date | None,
    waiting_only: bool,
    within: tuple[ColumnElement[bool], ...] = (),
) -> Select[tuple[Order]]:
    """The orders collected at ``point`` (placed on ``day``, if given; only those not
    handed over yet, if ``waiting_only``), newest first. Void orders (cancelled, failed,
    refunded, trashed) are not to be handed out."""
    query = (
        select(Order)
        .outerjoin(Handover, Handover.order_id == Order.id)
        .where(Order.pickup_point_id == point.id, Order.status.in_(LISTED_STATUSES))
        .options(selectinload(Order.lines))
        .order_by(Order.created_at_shop.desc(), Order.id.desc())
    )
    if day is not None:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        query = query.where(
            Order.created_at_shop >= start, Order.created_at_shop < start + timedelta(days=1)
        )
    if waiting_only:
        query = query.where(Handover.id.is_(None))
    if within:  # e.g. a group-buy round's orders (portal.pickup.rounds.in_round)
        query = query.where(*within)
    return query


# Orders a leader may have to hand out: paid, or waiting for payment (shown as unpaid).
LISTED_STATUSES = (*sorted(PAID_STATUSES), "pending", "on-hold")


def rows(orders: list[Order]) -> list[PickRow]:
    """The pick list's rows: each order with when it was handed over (one query)."""
    handed = (
        dict(
            db.session.execute(
                select(Handover.order_id, Handover.handed_over_at).where(
                    Handover.order_id.in_([o.id for o in orders])
                )
            ).all()
        )
        if orders
        else {}
    )
    return [PickRow(o, o.status in PAID_STATUSES, handed.get(o.id)) for o in orders]


def hand_over(point: PickupPoint, order_id: int, actor: User) -> Handover:
    """Mark the order handed over at the leader's point (again: the first mark stays).
    Only a paid order of this point. Flushed; the caller commits."""
    order = db.session.get(Order, order_id)
    if order is None or order.pickup_point_id != point.id:
        raise NotAtPoint(_("No such order."))
    if order.status not in PAID_STATUSES:
        raise PickupError(_("This order is not paid yet: hand it over once it is."))
    existing = db.session.scalar(select(Handover).where(Handover.order_id == order_id))
    if existing is not None:
        return existing
    savepoint = db.session.begin_nested()
    try:
        handover = Handover(order_id=order_id, point_id=point.id, by_user_id=actor.id)
        db.session.add(handover)
        order.commissions_due_at = utcnow()  # maturing may start now (a setting)
        db.session.flush()
    except IntegrityError:  # marked at the same moment elsewhere
        savepoint.rollback()
        return db.session.scalar(select(Handover).where(Handover.order_id == order_id))
    savepoint.commit()
    return handover


def undo(point: PickupPoint, order_id: int) -> None:
    """Take a mistaken mark back."""
    handover = db.session.scalar(
        select(Handover).where(Handover.order_id == order_id, Handover.point_id == point.id)
    )
    if handover is None:
        raise NotAtPoint(_("No such order."))
    db.session.delete(handover)
    order = db.session.get(Order, order_id)
    if order is not None:
        order.commissions_due_at = utcnow()
    db.session.flush()


def row(point: PickupPoint, order_id: int) -> PickRow:
    found = db.session.scalar(pick_list(point, None, False).where(Order.id == order_id))
    if found is None:
        raise NotAtPoint(_("No such order."))
    return rows([found])[0]
