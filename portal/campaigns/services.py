"""Creating campaigns, closing them, and booking their awards exactly once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from portal import jobs
from portal.accounts.models import User
from portal.audit.services import record
from portal.campaigns import settlement
from portal.campaigns.models import (
    Campaign,
    CampaignMetric,
    CampaignPrize,
    CampaignState,
    CampaignTier,
)
from portal.extensions import db
from portal.money import round_money
from portal.settings import services as settings
from portal.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CampaignData:
    name: str
    description: str
    metric: CampaignMetric
    starts_at: datetime
    ends_at: datetime
    eligible_roles: list[str]
    eligible_level_ids: list[int]
    tiers: list[tuple[Decimal, Decimal]]  # (target, bonus)
    prizes: list[Decimal]  # bonus for rank 1, 2, ...


def create(data: CampaignData, actor: User | None) -> Campaign:
    """Store a new open campaign (amounts rounded to the shop currency). Commits."""
    currency = settings.get("currency")
    campaign = Campaign(
        name=data.name,
        description=data.description,
        metric=data.metric,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        eligible_roles=sorted(data.eligible_roles),
        eligible_level_ids=sorted(data.eligible_level_ids),
        currency=currency,
        created_by_id=actor.id if actor is not None else None,
        tiers=[
            CampaignTier(target=target, bonus=round_money(bonus, currency))
            for target, bonus in sorted(data.tiers)
        ],
        prizes=[
            CampaignPrize(rank=n, bonus=round_money(bonus, currency))
            for n, bonus in enumerate(data.prizes, start=1)
        ],
    )
    db.session.add(campaign)
    db.session.flush()
    record(actor, "campaign.create", "campaign", campaign.id, after=campaign.as_audit())
    db.session.commit()
    return campaign


def start_closing(campaign_id: int, now: datetime | None = None, actor: User | None = None) -> bool:
    """Compare-and-set open → closing for a campaign whose period is over; True for the
    one caller that wins (audited when ops asked for it). Commits."""
    now = now or utcnow()
    won = db.session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.state == CampaignState.OPEN,
            Campaign.ends_at <= now,
        )
        .values(state=CampaignState.CLOSING, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won and actor is not None:
        record(actor, "campaign.close", "campaign", campaign_id)
    db.session.commit()
    return bool(won)


def close_now(campaign_id: int, actor: User) -> bool:
    """Ops closing a campaign whose period is over without waiting for the periodic job:
    open → closing (or left closing by an earlier try), then the award job queued.
    True when awarding started, False when the campaign cannot be closed (none such,
    still running, or closed already)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return False
    if not (start_closing(campaign.id, actor=actor) or campaign.state is CampaignState.CLOSING):
        return False
    jobs.enqueue(award, campaign_id, queue=jobs.BACKGROUND, timeout=1800)
    return True


def award(campaign_id: int) -> int:
    """Book every award of a closing campaign into holding (``settlement.settle``) and
    mark it closed, in one transaction; returns how many awards this run booked. Safe to
    run again, concurrently, or after a crash: the campaign's lock serialises runs and a
    booked award is brought to its outcome, never booked twice."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.state is not CampaignState.CLOSING:
        return 0
    booked = settlement.settle(campaign_id)
    closed = db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state == CampaignState.CLOSING)
        .values(state=CampaignState.CLOSED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed:
        record(
            None,
            "campaign.awarded",
            "campaign",
            campaign_id,
            after={"booked": booked},
        )
    db.session.commit()
    return booked


def close_due_campaigns() -> int:
    """The periodic job: close every campaign whose period is over and award it, finish
    any campaign a crashed run left closing, and settle the awards of closed campaigns
    (``settlement.settle_awards``: matured, or changed by their orders). Returns the
    awards booked or changed."""
    now = utcnow()
    due = db.session.scalars(
        select(Campaign.id).where(Campaign.state == CampaignState.OPEN, Campaign.ends_at <= now)
    ).all()
    for campaign_id in due:
        start_closing(campaign_id, now)
    closing = db.session.scalars(
        select(Campaign.id).where(Campaign.state == CampaignState.CLOSING)
    ).all()
    booked = 0
    for campaign_id in closing:
        booked += award(campaign_id)
        log.info("campaign %s awarded", campaign_id)
    return booked + settlement.settle_awards(now)
