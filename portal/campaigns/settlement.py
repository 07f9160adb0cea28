"""What a campaign's awards become while the orders that earned them change.

A bonus is booked when its campaign closes, into *holding*: like a commission it waits
for the return window (``return_window_days`` after the close), then moves to
*available*. Until it matures — and after, whenever a commission of an order placed in
the campaign's period changes (a refund, a cancellation, a risk rejection or release) —
the campaign's outcome is worked out again with today's figures (``progress.outcome``,
which counts qualifying orders only) and every award is brought to it through the
ledger: reduced, reversed to zero, raised again, or booked new (a prize that moved to
the next in rank). Money of an award not yet matured moves in *holding*; after it
matured in *available*, so a reduction after a payout is a negative carry the next
payout settles, as a refund of a paid commission is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, func, select, update

from portal.campaigns import progress
from portal.campaigns.models import AwardState, Campaign, CampaignAward, CampaignState
from portal.commissions.models import Commission, CommissionEvent
from portal.cursors import JobCursor
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind
from portal.ledger.services import Journal, lock_distributor
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from portal.settings import services as settings
from portal.timeutil import utcnow

ZERO = Decimal(0)
CURSOR = "campaign_awards"
# Commission events younger than this are left for the next run: a transaction that took
# an event id earlier may still be committing, and reading past it would skip it.
SETTLE = timedelta(minutes=2)


def _state(amount: Decimal, matures_at: datetime, now: datetime) -> AwardState:
    if amount == ZERO:
        return AwardState.REVERSED
    return AwardState.AVAILABLE if matures_at <= now else AwardState.HOLDING


def _bring(journal: Journal, award: CampaignAward, amount: Decimal, now: datetime) -> bool:
    """Book the award's change to ``amount`` and its move to the state that follows;
    True when anything changed."""
    state = _state(amount, award.matures_at, now)
    if amount == award.amount and state is award.state:
        return False
    bucket = Bucket.AVAILABLE if award.state is AwardState.AVAILABLE else Bucket.HOLDING
    reference = f"campaign:{award.campaign_id}:{award.award_key}"
    journal.book(
        award.distributor_id,
        bucket,
        amount - award.amount,
        award.currency,
        EntryKind.BONUS,
        reference,
    )
    if bucket is Bucket.HOLDING and state is AwardState.AVAILABLE:
        journal.transfer(
            award.distributor_id,
            Bucket.HOLDING,
            Bucket.AVAILABLE,
            amount,
            award.currency,
            reference,
        )
    award.amount, award.state = amount, state
    return True


def settle(campaign_id: int, now: datetime | None = None) -> int:
    """Bring a closing or closed campaign's awards to its outcome with today's figures, in
    the caller's transaction (flushed): the campaign's row lock serialises concurrent runs,
    the distributors' locks are taken in id order. Returns how many awards changed."""
    now = now or utcnow()
    db.session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(id=Campaign.id)
        .execution_options(synchronize_session=False)
    )
    campaign = db.session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None or campaign.state is CampaignState.OPEN:
        return 0
    matures_at = (campaign.closed_at or campaign.ends_at) + timedelta(
        days=settings.get("return_window_days")
    )
    wanted = {(a.distributor_id, a.award_key): a for a in progress.outcome(campaign)}
    booked = {
        (a.distributor_id, a.award_key): a
        for a in db.session.scalars(
            select(CampaignAward)
            .where(CampaignAward.campaign_id == campaign_id)
            .execution_options(populate_existing=True)
        )
    }
    for distributor_id in sorted({d for d, _ in wanted.keys() | booked.keys()}):
        lock_distributor(distributor_id)
    journal = Journal()
    changed = 0
    won: dict[int, list[progress.Award]] = {}
    for key in sorted(wanted.keys() | booked.keys()):
        target = wanted.get(key)
        award = booked.get(key)
        if award is None:
            assert target is not None  # a key without an award comes from the outcome
            award = CampaignAward(
                campaign_id=campaign_id,
                distributor_id=target.distributor_id,
                award_key=target.award_key,
                value=target.value,
                amount=ZERO,
                currency=campaign.currency,
                state=AwardState.REVERSED,
                matures_at=matures_at,
            )
            db.session.add(award)
            won.setdefault(target.distributor_id, []).append(target)
        elif target is not None:
            award.value = target.value
        changed += _bring(journal, award, target.amount if target else ZERO, now)
    _announce(campaign, won)
    journal.write()
    db.session.flush()
    return changed


def _announce(campaign: Campaign, won: dict[int, list[progress.Award]]) -> None:
    """One notice per winner for the awards this run booked, with their total and the
    place when a prize is among them: a winner of a tier bonus and a prize used to get
    two identical "You won the campaign …" notices. Announced with the booking, so a
    bonus is never booked unannounced, nor announced twice (the key names the first
    award, which is booked once)."""
    for distributor_id, awards in sorted(won.items()):
        keys = sorted(a.award_key for a in awards)
        params: dict[str, object] = {
            "campaign": campaign.name,
            "campaign_id": campaign.id,
            "amount": str(sum((a.amount for a in awards), ZERO)),
            "currency": campaign.currency,
        }
        ranks = [int(key.split(":")[1]) for key in keys if key.startswith("rank:")]
        if ranks:
            params["rank"] = min(ranks)
        notify(
            distributor_id,
            NotificationKind.CAMPAIGN_WON,
            params,
            key=f"campaign:{campaign.id}:{distributor_id}:{keys[0]}",
        )


def settle_awards(now: datetime | None = None) -> int:
    """Periodic: settle every closed campaign with an award still holding, or with a
    commission event (read after the job's cursor) on an order of its period. One
    transaction per campaign; returns how many awards changed."""
    now = now or utcnow()
    position = db.session.scalar(select(JobCursor.position).where(JobCursor.name == CURSOR))
    if position is None:
        db.session.add(JobCursor(name=CURSOR, position=0))
        db.session.commit()
        position = 0
    last = db.session.scalar(
        select(func.max(CommissionEvent.id)).where(
            CommissionEvent.id > position, CommissionEvent.created_at <= now - SETTLE
        )
    )
    holding = exists(
        select(CampaignAward.id).where(
            CampaignAward.campaign_id == Campaign.id,
            CampaignAward.state == AwardState.HOLDING,
        )
    )
    conditions = holding
    if last is not None:
        conditions = holding | exists(
            select(CommissionEvent.id)
            .join(Commission, Commission.id == CommissionEvent.commission_id)
            .where(
                CommissionEvent.id > position,
                CommissionEvent.id <= last,
                Commission.order_created_at >= Campaign.starts_at,
                Commission.order_created_at < Campaign.ends_at,
            )
        )
    due = db.session.scalars(
        select(Campaign.id)
        .where(Campaign.state == CampaignState.CLOSED, conditions)
        .order_by(Campaign.id)
    ).all()
    changed = 0
    for campaign_id in due:
        changed += settle(campaign_id, now)
        db.session.commit()
    if last is not None:
        db.session.execute(
            update(JobCursor)
            .where(JobCursor.name == CURSOR, JobCursor.position < last)
            .values(position=last)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return changed
