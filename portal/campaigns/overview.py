"""What the campaign pages show: the ops list and a campaign's preview, the campaigns a
distributor sees (running, past, what they won) and the leaderboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from portal.campaigns import progress
from portal.campaigns.models import (
    AwardState,
    Campaign,
    CampaignAward,
    CampaignMetric,
    CampaignState,
)
from portal.distributors import services as distributors
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.pagination import paginate
from portal.timeutil import utcnow

BOARD_SIZE = 10
BOARD_PERIODS = ("campaign", "month", "all")
PAST_SHOWN = 10


def admin_page() -> Any:
    """The ops list, latest ending first (a page of ``?page=``)."""
    return paginate(select(Campaign).order_by(Campaign.ends_at.desc(), Campaign.id.desc()))


def level_choices() -> list[tuple[int, str]]:
    """(id, name) of every level by rank, for the campaign form."""
    return [(level.id, level.name) for level in distributors.levels()]


def campaign(campaign_id: int) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


@dataclass(frozen=True)
class Preview:
    """A campaign for ops: its standings, and who wins what — if it closed with today's
    figures while open (the award job books the same list, from the same functions),
    the booked awards with their state once closing or closed."""

    campaign: Campaign
    board: list[progress.Standing]
    awards: list[Any]  # progress.Award while open, else CampaignAward
    booked: bool
    names: dict[int, str]


def preview(campaign_id: int) -> Preview | None:
    found = db.session.get(Campaign, campaign_id)
    if found is None:
        return None
    awards: list[Any]
    if found.state is CampaignState.OPEN:
        awards, booked = progress.outcome(found), False
    else:
        awards = list(  # with their state (portal.campaigns.settlement)
            db.session.scalars(
                select(CampaignAward)
                .where(CampaignAward.campaign_id == found.id)
                .order_by(CampaignAward.id)
            )
        )
        booked = True
    names = dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(
                Distributor.id.in_({a.distributor_id for a in awards})
            )
        ).all()
    )
    return Preview(found, progress.standings(found, limit=50), awards, booked, names)


def visible(distributor: Distributor, now: datetime | None = None) -> list[Campaign]:
    """The campaigns running now that ``distributor`` takes part in, ending soonest first."""
    now = now or utcnow()
    running = db.session.scalars(
        select(Campaign)
        .where(
            Campaign.state == CampaignState.OPEN,
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
        )
        .order_by(Campaign.ends_at, Campaign.id)
    ).all()
    return [c for c in running if progress.is_eligible(c, distributor)]


@dataclass(frozen=True)
class Mine:
    """A distributor's campaigns page: the running ones with their progress, the last
    closed ones, and per campaign what they won and until when an award is held."""

    running: list[tuple[Campaign, progress.Progress]]
    past: list[Campaign]
    won: dict[int, Decimal]
    held_until: dict[int, datetime]


def won_by(distributor_id: int) -> tuple[dict[int, Decimal], dict[int, datetime]]:
    """Per campaign: the total awarded to the distributor, and the latest date an award
    of it still holding matures (absent when none holds)."""
    won: dict[int, Decimal] = {}
    held_until: dict[int, datetime] = {}
    for campaign_id, total, holding in db.session.execute(
        select(
            CampaignAward.campaign_id,
            func.sum(CampaignAward.amount),
            func.max(CampaignAward.matures_at).filter(CampaignAward.state == AwardState.HOLDING),
        )
        .where(CampaignAward.distributor_id == distributor_id)
        .group_by(CampaignAward.campaign_id)
    ):
        won[campaign_id] = Decimal(str(total))  # Decimal(str()): SQLite sums NUMERIC as floats
        if holding is not None:
            held_until[campaign_id] = holding
    return won, held_until


def mine(distributor: Distributor) -> Mine:
    past = list(
        db.session.scalars(
            select(Campaign)
            .where(Campaign.state == CampaignState.CLOSED)
            .order_by(Campaign.ends_at.desc(), Campaign.id.desc())
            .limit(PAST_SHOWN)
        )
    )
    won, held_until = won_by(distributor.id)
    running = [(c, progress.progress_for(c, distributor.id)) for c in visible(distributor)]
    return Mine(running, past, won, held_until)


def card(campaign_id: int, distributor: Distributor) -> tuple[Campaign, progress.Progress] | None:
    """One campaign with the distributor's progress; ``None`` unless they take part."""
    found = db.session.get(Campaign, campaign_id)
    if found is None or not progress.is_eligible(found, distributor):
        return None
    return found, progress.progress_for(found, distributor.id)


@dataclass(frozen=True)
class Board:
    period: str
    metric: CampaignMetric
    campaign: Campaign | None
    board: list[progress.Standing]
    mine: progress.Standing | None


def leaderboard(
    distributor_id: int,
    period: str,
    campaign_id: int | None,
    metric_name: str,
    now: datetime | None = None,
) -> Board | None:
    """One campaign's leaderboard (``period="campaign"``; ``None`` for no such campaign
    or one not started), or a metric's this month (``"month"``, also for an unknown
    period) or of all time (``"all"``; an unknown metric counts orders). The top
    ``BOARD_SIZE`` and the distributor's own standing."""
    now = now or utcnow()
    if period not in BOARD_PERIODS:
        period = "month"
    found = None
    if period == "campaign":
        found = db.session.get(Campaign, campaign_id) if campaign_id else None
        if found is None or found.starts_at > now:
            return None
        everyone = progress.standings(found)
        metric = found.metric
    else:
        metric = CampaignMetric(
            metric_name if metric_name in CampaignMetric.__members__.values() else "orders"
        )
        start = datetime(now.year, now.month, 1, tzinfo=UTC) if period == "month" else None
        everyone = progress.rank(progress.active_only(progress.metric_values(metric, start, now)))
    board, own = progress.top_and_mine(everyone, BOARD_SIZE, distributor_id)
    return Board(period, metric, found, board, own)
