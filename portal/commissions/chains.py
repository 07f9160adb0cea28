"""Upline chains: who stands above a seller, as the engine sees them (with each member's
last own sale, for plans with a network requirement)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload

from portal import bulk
from portal.commissions import engine
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.orders.models import VOID_STATUSES, Order
from portal.timeutil import UTCDateTime


def last_own_sales(distributor_ids: list[int], before: datetime) -> dict[int, datetime]:
    """Per distributor, their latest own (not void) sale before ``before``."""
    found = last_own_sales_many([(d, before) for d in distributor_ids])
    return {d: at for (d, _), at in found.items()}


def last_own_sales_many(
    wanted: Sequence[tuple[int, datetime]],
) -> dict[tuple[int, datetime], datetime]:
    """:func:`last_own_sales` for many (distributor, moment) pairs: on PostgreSQL one
    query for them all (the pairs as arrays, a correlated MAX per pair); elsewhere one
    query per distinct moment."""
    if not wanted:
        return {}
    latest = select(func.max(Order.created_at_shop)).where(Order.status.not_in(VOID_STATUSES))
    found: dict[tuple[int, datetime], datetime] = {}
    if bulk.on_postgresql():
        pairs = (
            func.unnest(
                bindparam("ids", [d for d, _ in wanted], ARRAY(Integer)),
                bindparam("moments", [at for _, at in wanted], ARRAY(UTCDateTime())),
                bindparam("keys", list(range(len(wanted))), ARRAY(Integer)),
            )
            .table_valued("id", "moment", "key")
            .render_derived()
        )
        by_pair = latest.where(
            Order.distributor_id == pairs.c.id, Order.created_at_shop < pairs.c.moment
        ).scalar_subquery()
        for key, at in db.session.execute(select(pairs.c.key, by_pair)):
            if at is not None:
                found[wanted[key]] = at
        return found
    moments: dict[datetime, list[int]] = defaultdict(list)
    for distributor_id, at in wanted:
        moments[at].append(distributor_id)
    for before, ids in moments.items():
        rows = db.session.execute(
            latest.add_columns(Order.distributor_id)
            .where(Order.distributor_id.in_(ids), Order.created_at_shop < before)
            .group_by(Order.distributor_id)
        )
        for at, distributor_id in rows:
            found[(distributor_id, before)] = at
    return found


def upline(distributor: Distributor) -> list[Distributor]:
    """The distributor and up to two uplines (cycle-safe)."""
    chain: list[Distributor] = []
    current: Distributor | None = distributor
    seen: set[int] = set()
    while current is not None and len(chain) < engine.MAX_DEPTH and current.id not in seen:
        seen.add(current.id)
        chain.append(current)
        current = current.parent
    return chain


def chain_for(distributors: list[Distributor], at: datetime) -> list[engine.Member]:
    """The chain as the engine sees it at ``at`` (with each member's last own sale)."""
    return members(distributors, last_own_sales([d.id for d in distributors], at))


def members(
    distributors: list[Distributor], last_sales: Mapping[int, datetime]
) -> list[engine.Member]:
    return [
        engine.Member(
            distributor_id=d.id,
            role=d.role.value,
            level_rates=(
                (d.level.rate_depth1, d.level.rate_depth2, d.level.rate_depth3)
                if d.level
                else (None, None, None)
            ),
            active=d.status is DistributorStatus.ACTIVE,
            email=d.user.email,
            shop_customer_id=d.shop_customer_id,
            last_own_sale_at=last_sales.get(d.id),
        )
        for d in distributors
    ]


def load_chains(distributor_ids: set[int]) -> list[Distributor]:
    """The distributors and their uplines to the engine's depth, with users and levels:
    one query per level for the whole batch, after which :func:`upline` and
    :func:`chain_for` find every object in the session instead of lazy-loading each."""
    loaded: list[Distributor] = []
    seen: set[int] = set()
    wanted = distributor_ids
    for _ in range(engine.MAX_DEPTH):
        wanted -= seen
        if not wanted:
            break
        level = list(
            db.session.scalars(
                select(Distributor)
                .options(joinedload(Distributor.user), joinedload(Distributor.level))
                .where(bulk.among(Distributor.id, sorted(wanted)))
            )
        )
        loaded += level
        seen |= wanted
        wanted = {d.parent_id for d in level if d.parent_id is not None}
    return loaded
