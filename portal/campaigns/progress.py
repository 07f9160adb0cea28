"""A campaign's metric per distributor, standings and the awards they earn.

The single source of truth: the ``/me`` pages, the ops preview and the award job all
read these functions, so what a distributor sees is what gets paid.

Tie rule (leaderboards and prizes): a higher value ranks first; equal values are ordered
by who joined the programme first (``joined_at``, then the lower distributor id). Ranks
are never shared, so each prize goes to exactly one distributor.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, select

from portal.campaigns.models import Campaign, CampaignMetric
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.orders.models import Order
from portal.risk import qualifying

ZERO = Decimal(0)
PLACES = Decimal("0.0001")  # the scale of money and targets


@dataclass(frozen=True)
class Standing:
    rank: int
    distributor_id: int
    name: str
    value: Decimal


@dataclass(frozen=True)
class Award:
    distributor_id: int
    award_key: str  # "tier:<target>" or "rank:<n>"
    value: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Progress:
    """One distributor's standing in a campaign, for a progress bar."""

    value: Decimal
    rank: int | None
    reached: list[Decimal]  # tier targets reached
    next_target: Decimal | None
    earned: Decimal  # bonuses of the tiers reached (prizes come at close)


def _counted_orders(start: datetime | None, end: datetime) -> list[ColumnElement[bool]]:
    """Qualifying orders (``portal.risk.qualifying``) placed in ``[start, end)``."""
    conditions = [*qualifying.conditions(), Order.created_at_shop < end]
    if start is not None:
        conditions.append(Order.created_at_shop >= start)
    return conditions


def metric_values(
    metric: CampaignMetric, start: datetime | None, end: datetime
) -> dict[int, Decimal]:
    """The metric per distributor over ``[start, end)`` (``start`` None = all time);
    distributors at zero are absent."""
    query: Select[tuple[int | None, object]]
    if metric is CampaignMetric.RECRUITS:
        conditions = [
            Distributor.parent_id.is_not(None),
            Distributor.status == DistributorStatus.ACTIVE,
            Distributor.joined_at < end,
        ]
        if start is not None:
            conditions.append(Distributor.joined_at >= start)
        query = (
            select(Distributor.parent_id, func.count(Distributor.id))
            .where(*conditions)
            .group_by(Distributor.parent_id)
        )
    elif metric is CampaignMetric.ORDERS:
        query = (
            select(Order.distributor_id, func.count(Order.id))
            .where(*_counted_orders(start, end))
            .group_by(Order.distributor_id)
        )
    elif metric is CampaignMetric.SALES:
        query = (
            select(Order.distributor_id, func.sum(Order.net_total))
            .where(*_counted_orders(start, end))
            .group_by(Order.distributor_id)
        )
    else:
        # A customer (email, else shop customer id) is new for a distributor when their
        # first counted order attributed to that distributor falls in the period.
        customer = func.coalesce(func.lower(Order.customer_email), Order.customer_id)
        first = (
            select(
                Order.distributor_id.label("distributor_id"),
                func.min(Order.created_at_shop).label("first_at"),
            )
            .where(*_counted_orders(None, end), customer.is_not(None))
            .group_by(Order.distributor_id, customer)
            .subquery()
        )
        where = [] if start is None else [first.c.first_at >= start]
        query = (
            select(first.c.distributor_id, func.count())
            .where(*where)
            .group_by(first.c.distributor_id)
        )
    values = {}
    for distributor_id, total in db.session.execute(query):
        # "+ ZERO" normalises SQLite's float sums and -0.
        value = Decimal(str(total)).quantize(PLACES) + ZERO if total is not None else ZERO
        if distributor_id is not None and value > ZERO:
            values[distributor_id] = value
    return values


def eligible_ids(campaign: Campaign, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` who take part: active, of an eligible role and level."""
    ids = list(ids)
    if not ids:
        return set()
    conditions = [Distributor.id.in_(ids), Distributor.status == DistributorStatus.ACTIVE]
    if campaign.eligible_roles:
        conditions.append(Distributor.role.in_(campaign.eligible_roles))
    if campaign.eligible_level_ids:
        conditions.append(Distributor.level_id.in_(campaign.eligible_level_ids))
    return set(db.session.scalars(select(Distributor.id).where(and_(*conditions))))


def is_eligible(campaign: Campaign, distributor: Distributor) -> bool:
    return bool(eligible_ids(campaign, [distributor.id]))


def short_name(name: str) -> str:
    """For public leaderboards: "Wang Lei" → "Wang L.", "王磊" → "王*"."""
    name = " ".join(name.split())
    if not name:
        return "*"
    if any(unicodedata.east_asian_width(c) in ("W", "F") for c in name):
        return name[0] + "*"
    first, *rest = name.split(" ")
    return f"{first} {rest[-1][0]}." if rest else first


def active_only(values: dict[int, Decimal]) -> dict[int, Decimal]:
    """Drop distributors who are not active (suspended ones stay off public boards)."""
    active = set(
        db.session.scalars(
            select(Distributor.id).where(
                Distributor.id.in_(list(values)), Distributor.status == DistributorStatus.ACTIVE
            )
        )
    )
    return {d: v for d, v in values.items() if d in active}


def rank(values: dict[int, Decimal], limit: int | None = None) -> list[Standing]:
    """Standings by the tie rule of this module (value, then who joined first)."""
    if not values:
        return []
    rows = db.session.execute(
        select(Distributor.id, Distributor.display_name, Distributor.joined_at).where(
            Distributor.id.in_(list(values))
        )
    ).all()
    ordered = sorted(
        rows,
        key=lambda r: (-values[r.id], r.joined_at is None, r.joined_at or datetime.min, r.id),
    )
    if limit is not None:
        ordered = ordered[:limit]
    return [
        Standing(n, r.id, short_name(r.display_name), values[r.id])
        for n, r in enumerate(ordered, start=1)
    ]


def top_and_mine(
    board: list[Standing], limit: int, distributor_id: int
) -> tuple[list[Standing], Standing | None]:
    """The first ``limit`` places, and the distributor's own place when it is below them
    (``None`` when it is among them or they are not on the board)."""
    mine = next((s for s in board[limit:] if s.distributor_id == distributor_id), None)
    return board[:limit], mine


def standings(campaign: Campaign, limit: int | None = None) -> list[Standing]:
    """The campaign's leaderboard: eligible distributors with a value above zero."""
    values = metric_values(campaign.metric, campaign.starts_at, campaign.ends_at)
    eligible = eligible_ids(campaign, values)
    return rank({d: v for d, v in values.items() if d in eligible}, limit)


def tier_key(target: Decimal) -> str:
    return f"tier:{target.normalize():f}"


def outcome(campaign: Campaign) -> list[Award]:
    """Every award the campaign gives with today's figures: each tier reached pays its
    bonus, and prize ``n`` goes to rank ``n``. The award job books exactly this list."""
    board = standings(campaign)
    awards = []
    for standing in board:
        awards.extend(
            Award(standing.distributor_id, tier_key(tier.target), standing.value, tier.bonus)
            for tier in campaign.tiers
            if standing.value >= tier.target and tier.bonus > ZERO
        )
    by_rank = {s.rank: s for s in board}
    for prize in campaign.prizes:
        winner = by_rank.get(prize.rank)
        if winner is not None and prize.bonus > ZERO:
            awards.append(
                Award(winner.distributor_id, f"rank:{prize.rank}", winner.value, prize.bonus)
            )
    return awards


def progress_for(campaign: Campaign, distributor_id: int) -> Progress:
    board = standings(campaign)
    mine = next((s for s in board if s.distributor_id == distributor_id), None)
    value = mine.value if mine else ZERO
    targets = [t.target for t in campaign.tiers]
    reached = [t for t in targets if value >= t]
    earned = sum((t.bonus for t in campaign.tiers if value >= t.target), ZERO)
    return Progress(
        value=value,
        rank=mine.rank if mine else None,
        reached=reached,
        next_target=next((t for t in targets if value < t), None),
        earned=earned,
    )
