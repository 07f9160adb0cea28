"""Group-buy rounds (团购): ops open a round of products with a deadline for every leader
or one; leaders share it with a ready group message; when it closes each leader sees the
quantities per product their group bought — what to order from the shop.

What a leader's group bought in a round: the paid, not fully refunded orders credited to
the leader (``portal.risk.qualifying.paid``) placed while the round was open, counting
the lines of the round's products.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select

from portal.accounts.models import User
from portal.audit import services as audit
from portal.catalogue.models import Product
from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorRole
from portal.errors import ServiceError
from portal.extensions import db
from portal.links import services as links
from portal.orders.models import Order, OrderLine
from portal.pickup.models import GroupRound, PickupPoint, PointStatus
from portal.risk import qualifying
from portal.settings import services as settings
from portal.timeutil import utcnow

MAX_PRODUCTS = 50


class RoundError(ServiceError):
    """A round that cannot be opened as given."""


def open_round(
    title: str,
    product_ids: list[str],
    opens_at: datetime,
    closes_at: datetime,
    leader_code: str | None,
    actor: User,
) -> GroupRound:
    """A new round; the products must be in the catalogue. Flushed; the caller commits."""
    wanted = list(dict.fromkeys(p.strip() for p in product_ids if p.strip()))
    if not wanted or len(wanted) > MAX_PRODUCTS:
        raise RoundError(_("Give 1 to %(n)d product numbers.", n=MAX_PRODUCTS), "product_ids")
    known = set(
        db.session.scalars(select(Product.product_id).where(Product.product_id.in_(wanted)))
    )
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise RoundError(
            _("Not in the catalogue: %(ids)s", ids=", ".join(unknown[:10])), "product_ids"
        )
    if closes_at <= opens_at:
        raise RoundError(_("The deadline must come after the start."), "closes_at")
    leader = None
    if leader_code:
        leader = distributors.find_active(leader_code)
        if leader is None:
            raise RoundError(_("No active distributor has this code."), "leader_code")
    found = GroupRound(
        title=title,
        product_ids=wanted,
        opens_at=opens_at,
        closes_at=closes_at,
        leader_id=leader.id if leader else None,
        created_by_id=actor.id,
    )
    db.session.add(found)
    db.session.flush()
    audit.record(
        actor, "round.open", "group_round", found.id, None, {"title": title, "products": wanted}
    )
    return found


def all_rounds() -> Select[tuple[GroupRound]]:
    return select(GroupRound).order_by(GroupRound.closes_at.desc(), GroupRound.id.desc())


def for_leader(leader_id: int, limit: int = 20) -> list[GroupRound]:
    """The leader's rounds (theirs and everyone's), latest deadline first."""
    return list(
        db.session.scalars(
            select(GroupRound)
            .where(or_(GroupRound.leader_id.is_(None), GroupRound.leader_id == leader_id))
            .order_by(GroupRound.closes_at.desc(), GroupRound.id.desc())
            .limit(limit)
        )
    )


def get_for_leader(round_id: int, leader_id: int) -> GroupRound | None:
    found = db.session.get(GroupRound, round_id)
    if found is None or found.leader_id not in (None, leader_id):
        return None
    return found


@dataclass(frozen=True)
class Total:
    product_id: str
    name: str
    qty: int
    orders: int


def totals(found: GroupRound, leader_id: int) -> list[Total]:
    """Per product of the round: the quantity the leader's group bought and in how many
    orders (one grouped query)."""
    rows = db.session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.qty), func.count(func.distinct(Order.id)))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.distributor_id == leader_id,
            Order.created_at_shop >= found.opens_at,
            Order.created_at_shop < found.closes_at,
            *qualifying.paid(),
            OrderLine.product_id.in_(found.product_ids),
        )
        .group_by(OrderLine.product_id)
    ).all()
    bought = {pid: (int(qty or 0), int(n)) for pid, qty, n in rows}
    names = dict(
        db.session.execute(
            select(Product.product_id, Product.name).where(
                Product.product_id.in_(found.product_ids)
            )
        ).all()
    )
    return [Total(pid, names.get(pid, pid), *bought.get(pid, (0, 0))) for pid in found.product_ids]


def message(found: GroupRound, leader: Distributor, point: PickupPoint | None) -> str:
    """The group chat message: the round, its deadline, each product with its price and
    the leader's link to it, and where to collect (the leader's approved point)."""
    products = {
        p.product_id: p
        for p in db.session.scalars(
            select(Product).where(Product.product_id.in_(found.product_ids))
        )
    }
    code = links.link_code(leader)
    lines = [
        _(
            "【%(title)s】 Order by %(deadline)s",
            title=found.title,
            deadline=format_datetime(found.closes_at, "short"),
        ),
    ]
    for pid in found.product_ids:
        product = products.get(pid)
        if product is None:
            continue
        price = links.price_text(product.price)
        lines.append(f"· {product.name}{' ' + price if price else ''} {links.short_url(code, pid)}")
    if point is not None and point.status is PointStatus.APPROVED:
        lines.append(
            _(
                "Collect at %(name)s, %(address)s (%(hours)s).",
                name=point.name,
                address=point.address,
                hours=point.hours,
            )
        )
    return "\n".join(lines)


def in_round(found: GroupRound) -> tuple[ColumnElement[bool], ...]:
    """WHERE conditions on :class:`Order` for the orders placed in the round with one of
    its products (the pick list's round filter)."""
    return (
        Order.created_at_shop >= found.opens_at,
        Order.created_at_shop < found.closes_at,
        select(OrderLine.id)
        .where(OrderLine.order_id == Order.id, OrderLine.product_id.in_(found.product_ids))
        .exists(),
    )


def state(found: GroupRound) -> str:
    now = utcnow()
    if now < found.opens_at:
        return "upcoming"
    return "open" if now < found.closes_at else "closed"


def deadline_for(distributor: Distributor, product: Product) -> datetime | None:
    """The soonest deadline of an open round of the leader's with this product."""
    if distributor.role is not DistributorRole.GROUP_LEADER:
        return None
    now = utcnow()
    rounds = db.session.scalars(
        select(GroupRound)
        .where(
            or_(GroupRound.leader_id.is_(None), GroupRound.leader_id == distributor.id),
            GroupRound.opens_at <= now,
            GroupRound.closes_at > now,
        )
        .order_by(GroupRound.closes_at)
    )
    return next((r.closes_at for r in rounds if product.product_id in r.product_ids), None)


def leaders_may_open() -> bool:
    return bool(settings.get("leader_rounds"))
