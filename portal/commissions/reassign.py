"""Ops re-assign orders to another distributor (a lost coupon, a wrong link, a whole
account's orders moved at once).

An order's frozen commission context is dropped and recomputed for the new upline with
today's plan: the old beneficiaries' commissions are reversed through the ledger (a paid
one becomes a negative carry, counted in what :func:`reassign_many` returns so the
caller can say so), the new ones start like any new commission, and the risk rules run
again for the new distributor.

One order or ten thousand take the same path: orders are locked, changed, audited and
their commissions run in batches of :data:`BATCH`, a fixed number of statements and one
transaction per batch (:func:`portal.commissions.services.run_orders`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import bulk
from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions.models import Commission, CommissionState
from portal.commissions.services import lock_orders, run_orders
from portal.distributors.models import Distributor, DistributorStatus
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.orders.models import Order

BATCH = 1000  # orders per transaction: bounded locks and memory, a few statements each


class ReassignError(ServiceError):
    """An order that cannot be credited to that distributor."""


@dataclass
class Reassigned:
    """What a re-assignment did, by order id."""

    moved: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # already credited to their target
    missing: list[int] = field(default_factory=list)  # no such order
    # commissions already paid on the moved orders: each is now carried as a negative
    # amount into its beneficiary's next payout
    paid_carried: int = 0


def _code(code: str) -> str:
    return code.strip().upper()


def _checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ReassignError(_("Give a reason; it is kept in the audit log."), "reason")
    return reason


def active_distributors(codes: Iterable[str]) -> dict[str, Distributor]:
    """The active distributors with these referral codes, by code (one query), or
    :class:`ReassignError` naming the codes no active distributor has."""
    wanted = {_code(code) for code in codes}
    found = {
        d.code: d
        for d in db.session.scalars(
            select(Distributor).where(
                Distributor.code.in_(wanted), Distributor.status == DistributorStatus.ACTIVE
            )
        )
    }
    unknown = sorted(wanted - found.keys())
    if len(unknown) == 1 and len(wanted) == 1:
        raise ReassignError(_("No active distributor has that code."), "code")
    if unknown:
        raise ReassignError(
            _("No active distributor has the code %(codes)s.", codes=", ".join(unknown)), "code"
        )
    return found


def new_distributor(order: Order, code: str, reason: str) -> Distributor:
    """Whom the order would be credited to (what the confirm step names), or
    :class:`ReassignError` when it cannot be re-assigned that way."""
    _checked_reason(reason)
    target = active_distributors([code])[_code(code)]
    if order.distributor_id == target.id:
        raise ReassignError(
            _("The order is already credited to %(code)s.", code=target.code), "code"
        )
    return target


@dataclass(frozen=True)
class Preview:
    """What the confirm step shows: whom the order is credited to now and would be, and
    the commission on it now (all of it reversed by the re-assignment)."""

    current: Distributor | None
    target: Distributor
    earned: Decimal


def preview(order: Order, code: str, reason: str) -> Preview:
    """The re-assignment as the confirm step shows it, or :class:`ReassignError`."""
    target = new_distributor(order, code, reason)
    current = db.session.get(Distributor, order.distributor_id) if order.distributor_id else None
    earned = db.session.scalar(
        select(func.coalesce(func.sum(Commission.amount), 0)).where(Commission.order_id == order.id)
    )
    return Preview(current, target, Decimal(str(earned)))  # str(): SQLite sums as floats


def orders_of(code: str) -> list[int]:
    """The ids of the orders credited now to the distributor with ``code`` (any status),
    oldest first: what "move everything of this account" re-assigns."""
    return list(
        db.session.scalars(
            select(Order.id)
            .join(Distributor, Distributor.id == Order.distributor_id)
            .where(Distributor.code == _code(code))
            .order_by(Order.id)
        )
    )


def reassign(order_id: int, code: str, reason: str, actor: User) -> Order:
    """Credit the order to the active distributor with ``code``, in the caller's unit of
    work (the request commits)."""
    reason = _checked_reason(reason)
    target = active_distributors([code])[_code(code)]
    done = Reassigned()
    _move([order_id], {order_id: target.id}, {target.id: target.code}, reason, actor, done)
    if done.missing:
        raise NotFound(_("No such order."))
    if done.unchanged:
        raise ReassignError(
            _("The order is already credited to %(code)s.", code=_code(code)), "code"
        )
    return db.session.get(Order, order_id)


def reassign_many(
    moves: Mapping[int, str], reason: str, actor: User | None, batch: int = BATCH
) -> Reassigned:
    """Credit each order (by id) to the active distributor with its code — one code for
    all, or each its own — and recompute their commissions. Commits once per batch.

    Every order is decided under its commission lock (taken in id order, so two
    re-assignments of overlapping orders wait for each other and cannot deadlock): one
    already credited to its target is left alone, so running the same re-assignment
    twice, or two at once, ends in one consistent state. ``actor`` ``None``: the CLI.
    Each batch is a unit of work of its own (committed), so ten thousand orders do not
    hold their locks in one transaction."""
    reason = _checked_reason(reason)
    if not moves:
        return Reassigned()
    targets = active_distributors(moves.values())
    wanted = {order_id: targets[_code(code)].id for order_id, code in moves.items()}
    codes = {d.id: d.code for d in targets.values()}
    done = Reassigned()
    ids = sorted(wanted)
    for start in range(0, len(ids), batch):
        _move(ids[start : start + batch], wanted, codes, reason, actor, done)
        db.session.commit()
    return done


def _move(
    ids: list[int],
    wanted: Mapping[int, int],
    codes: Mapping[int, str],
    reason: str,
    actor: User | None,
    done: Reassigned,
) -> None:
    """One batch: lock, change the orders with one UPDATE, audit them with one INSERT,
    run their commissions (flushed, not committed)."""
    orders = lock_orders(ids)
    done.missing += sorted(set(ids) - {order.id for order in orders})
    moving = [order for order in orders if order.distributor_id != wanted[order.id]]
    done.unchanged += [order.id for order in orders if order.distributor_id == wanted[order.id]]
    if not moving:
        return
    moved = [order.id for order in moving]
    previous: dict[int, str] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(Distributor.id, Distributor.code).where(
                bulk.among(
                    Distributor.id, sorted({o.distributor_id for o in moving if o.distributor_id})
                )
            )
        ).all()
    )
    done.paid_carried += db.session.scalar(
        select(func.count())
        .select_from(Commission)
        .where(bulk.among(Commission.order_id, moved), Commission.state == CommissionState.PAID)
    )
    rows: list[dict[str, Any]] = []
    changes: list[tuple[object, dict[str, Any], dict[str, Any]]] = []
    for order in moving:
        was = previous.get(order.distributor_id) if order.distributor_id else None
        code = codes[wanted[order.id]]
        rows.append(
            {
                "id": order.id,
                "distributor_id": wanted[order.id],
                "attribution_method": "manual",
                "attribution_evidence": {
                    "matched": code,
                    "previous": was,
                    "previous_method": order.attribution_method,
                    "reason": reason,
                },
                "commission_context": None,  # frozen again for the new upline by the run
            }
        )
        changes.append(
            (
                order.id,
                {"distributor": was, "method": order.attribution_method},
                {"distributor": code, "method": "manual", "reason": reason},
            )
        )
    bulk.update_rows(Order.__table__, "id", rows)
    audit.record_many(actor, "order.reassign", "order", changes)
    run_orders(moved)  # re-reads the locked orders as just changed
    done.moved += moved
