"""A distributor's downline three levels deep, with what each member sold and earned
the distributor. Only names, levels and dates — never emails or customer data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, Subquery, func, literal, or_, select, union_all

from portal.centre.periods import Period
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.forms import like_escape
from portal.orders.models import VOID_STATUSES, Order

DEPTHS = (1, 2, 3)


def team(root_id: int) -> Subquery:
    """(member_id, depth) for everyone up to three levels below ``root_id``."""
    level1 = select(Distributor.id).where(Distributor.parent_id == root_id)
    level2 = select(Distributor.id).where(Distributor.parent_id.in_(level1))
    return union_all(
        select(Distributor.id.label("member_id"), literal(1).label("depth")).where(
            Distributor.parent_id == root_id
        ),
        select(Distributor.id, literal(2)).where(Distributor.parent_id.in_(level1)),
        select(Distributor.id, literal(3)).where(Distributor.parent_id.in_(level2)),
    ).subquery("team")


def counts(root_id: int) -> dict[int, int]:
    """Members per depth (every depth present)."""
    members = team(root_id)
    result = dict.fromkeys(DEPTHS, 0)
    result.update(
        db.session.execute(select(members.c.depth, func.count()).group_by(members.c.depth)).all()
    )
    return result


def members_query(root_id: int, depth: int | None, search: str) -> Select[tuple[Distributor]]:
    """Members for one page of the team list, nearest first, newest first."""
    members = team(root_id)
    query = select(Distributor).join(members, members.c.member_id == Distributor.id)
    if depth in DEPTHS:
        query = query.where(members.c.depth == depth)
    if search:
        query = query.where(
            or_(
                Distributor.display_name.ilike(f"%{like_escape(search)}%", escape="\\"),
                Distributor.code == search.upper(),
            )
        )
    return query.order_by(members.c.depth, Distributor.joined_at.desc(), Distributor.id.desc())


@dataclass(frozen=True)
class MemberFigures:
    depth: int
    sales: Decimal  # the member's own attributed sales in the period
    produced: Decimal  # commission the root earned from the member's orders in the period


def figures(root_id: int, member_ids: list[int], period: Period) -> dict[int, MemberFigures]:
    """Depth, sales and produced commission for a page of members: three queries."""
    if not member_ids:
        return {}
    members = team(root_id)
    depths = dict(
        db.session.execute(
            select(members.c.member_id, members.c.depth).where(members.c.member_id.in_(member_ids))
        ).all()
    )
    in_period = (
        Order.distributor_id.in_(member_ids),
        Order.created_at_shop >= period.start,
        Order.created_at_shop < period.end,
    )
    sales = dict(
        db.session.execute(
            select(Order.distributor_id, func.sum(Order.net_total))
            .where(*in_period, Order.status.not_in(VOID_STATUSES))
            .group_by(Order.distributor_id)
        ).all()
    )
    produced = dict(
        db.session.execute(
            select(Commission.seller_id, func.sum(Commission.amount))
            .where(
                Commission.beneficiary_id == root_id,
                Commission.order_created_at >= period.start,
                Commission.order_created_at < period.end,
                Commission.seller_id.in_(member_ids),
                Commission.state != CommissionState.REVERSED,
            )
            .group_by(Commission.seller_id)
        ).all()
    )
    return {
        member_id: MemberFigures(
            depths.get(member_id, 0),
            Decimal(sales.get(member_id) or 0),
            Decimal(produced.get(member_id) or 0),
        )
        for member_id in member_ids
    }
