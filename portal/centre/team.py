"""A distributor's downline three levels deep, with what each member sold and earned
the distributor. Only names, levels and dates — never emails or customer data.

Members per depth are counters on the distributor (``team_size_1..3``), kept here as
distributors join or move (:func:`install`), so a leader's counts never scan the team;
the list is read in keyset pages, one level after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    Subquery,
    event,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Mapper, attributes

from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.forms import like_escape
from portal.orders.models import VOID_STATUSES, Order
from portal.pagination import Key, KeysetPage, keyset_page
from portal.periods import Period

DEPTHS = (1, 2, 3)
SIZES = (Distributor.team_size_1, Distributor.team_size_2, Distributor.team_size_3)
# Newest first: ids grow with applications (joined_at is empty until approval).
ORDER = (Key(Distributor.id, descending=True),)


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
    """Members per depth (every depth present), from the maintained counters."""
    row = db.session.execute(select(*SIZES).where(Distributor.id == root_id)).one_or_none()
    return dict(zip(DEPTHS, row or (0, 0, 0), strict=True))


def _shift(conn: Connection, parent_id: int | None, member_id: int, sign: int) -> None:
    """Add (``sign`` 1) or remove (-1) the subtree of ``member_id`` under ``parent_id``:
    the member and its first two levels become depths 1..3 of the parent, 2..3 of the
    grandparent, 3 of the great-grandparent."""
    if parent_id is None:
        return
    own = conn.execute(
        select(Distributor.team_size_1, Distributor.team_size_2).where(Distributor.id == member_id)
    ).one()
    subtree = (1, own[0], own[1])  # at depth 0, 1, 2 below the member
    ancestor: int | None = parent_id
    for distance in DEPTHS:
        if ancestor is None:
            return
        changes = {
            SIZES[distance + j - 1].key: SIZES[distance + j - 1] + sign * subtree[j]
            for j in range(len(DEPTHS) - distance + 1)
            if subtree[j]
        }
        conn.execute(update(Distributor).where(Distributor.id == ancestor).values(changes))
        ancestor = conn.scalar(select(Distributor.parent_id).where(Distributor.id == ancestor))


def _inserted(_mapper: Mapper[Any], conn: Connection, target: Distributor) -> None:
    _shift(conn, target.parent_id, target.id, 1)


def _updated(_mapper: Mapper[Any], conn: Connection, target: Distributor) -> None:
    history = attributes.get_history(target, "parent_id")
    if not history.has_changes():
        return
    for old in history.deleted:
        _shift(conn, old, target.id, -1)
    for new in history.added:
        _shift(conn, new, target.id, 1)


def install() -> None:
    """Keep the counters on every ORM insert and re-parenting (idempotent). Bulk SQL that
    writes the tree (the benches) calls :func:`recount` afterwards."""
    for name, listener in (("after_insert", _inserted), ("after_update", _updated)):
        if not event.contains(Distributor, name, listener):
            event.listen(Distributor, name, listener)


# Set-based (one grouped pass per depth), so the plan cannot become a scan per row.
RECOUNT = [
    "UPDATE distributors SET team_size_1 = 0, team_size_2 = 0, team_size_3 = 0",
    """UPDATE distributors SET team_size_1 = s.n FROM
         (SELECT parent_id AS id, count(*) AS n FROM distributors
          WHERE parent_id IS NOT NULL GROUP BY parent_id) AS s
       WHERE s.id = distributors.id""",
    """UPDATE distributors SET team_size_2 = s.n FROM
         (SELECT p.parent_id AS id, count(*) AS n
          FROM distributors c JOIN distributors p ON c.parent_id = p.id
          WHERE p.parent_id IS NOT NULL GROUP BY p.parent_id) AS s
       WHERE s.id = distributors.id""",
    """UPDATE distributors SET team_size_3 = s.n FROM
         (SELECT g.parent_id AS id, count(*) AS n
          FROM distributors c JOIN distributors p ON c.parent_id = p.id
          JOIN distributors g ON p.parent_id = g.id
          WHERE g.parent_id IS NOT NULL GROUP BY g.parent_id) AS s
       WHERE s.id = distributors.id""",
]


def recount() -> None:
    """Every distributor's counters from the tree itself (the migration's backfill)."""
    for statement in RECOUNT:
        db.session.execute(text(statement))


def _level(root_id: int, depth: int) -> Select[tuple[Distributor]]:
    parents: Any = [root_id]
    for _ in range(depth - 1):
        parents = select(Distributor.id).where(Distributor.parent_id.in_(parents))
    return select(Distributor).where(Distributor.parent_id.in_(parents))


def members_page(root_id: int, depth: int | None, search: str) -> KeysetPage:
    """One keyset page of the team list: nearest level first, newest first in a level.
    The total comes from the counters (unknown while searching)."""
    depths = [depth] if depth in DEPTHS else list(DEPTHS)
    levels = [_level(root_id, d) for d in depths]
    if search:
        match = or_(
            Distributor.display_name.ilike(f"%{like_escape(search)}%", escape="\\"),
            Distributor.code == search.upper(),
        )
        levels = [level.where(match) for level in levels]
    page = keyset_page(levels, ORDER)
    if search:
        return page
    sizes = counts(root_id)
    return KeysetPage(page.items, page.next_cursor, page.prev_cursor, sum(sizes[d] for d in depths))


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
