"""What the ops order pages show: the searchable list, and one order with who earns what
on it and its risk flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from portal.commissions.models import Commission
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.orders.models import Order
from portal.pagination import paginate
from portal.risk.models import RiskFlag
from portal.risk.review import flags_for


def admin_page(search: str) -> tuple[Any, dict[int, str]]:
    """A page of orders, newest first — those whose number or shop id is ``search`` when
    given — and the names of the distributors they are credited to."""
    query = select(Order).order_by(Order.created_at_shop.desc(), Order.id.desc())
    if search:
        query = query.where(or_(Order.number == search, Order.shop_order_id == search))
    page = paginate(query)
    names = dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(
                Distributor.id.in_({o.distributor_id for o in page.items})
            )
        ).all()
    )
    return page, names


def order(order_id: int) -> Order | None:
    """The order with its lines."""
    return db.session.get(Order, order_id, options=[selectinload(Order.lines)])


@dataclass(frozen=True)
class Earnings:
    """An order's commissions nearest first, the distributors they and the order name
    (by id), and the order's risk flags."""

    commissions: list[Commission]
    people: dict[int, Distributor]
    flags: list[RiskFlag]


def earnings(order: Order) -> Earnings:
    lines = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.order_id == order.id)
            .order_by(Commission.depth, Commission.id)
        )
    )
    people = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor).where(
                Distributor.id.in_({c.beneficiary_id for c in lines} | {order.distributor_id})
            )
        )
    }
    return Earnings(lines, people, flags_for([order.id]).get(order.id, []))
