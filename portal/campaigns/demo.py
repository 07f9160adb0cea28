"""Demo campaigns: two running, one closed and awarded through the real award path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from portal.accounts.models import User
from portal.campaigns import services
from portal.campaigns.models import CampaignMetric
from portal.distributors.models import DistributorRole
from portal.timeutil import utcnow


def _midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def seed_campaigns(admin: User) -> None:
    """Called at the end of ``portal.demo.seed``; commits."""
    today = _midnight(utcnow())
    services.create(
        services.CampaignData(
            name="Autumn orders sprint",
            description="Bring orders this month: every tier reached pays its bonus.",
            metric=CampaignMetric.ORDERS,
            starts_at=today - timedelta(days=20),
            ends_at=today + timedelta(days=10),
            eligible_roles=[],
            eligible_level_ids=[],
            tiers=[(Decimal(3), Decimal(50)), (Decimal(10), Decimal(200))],
            prizes=[Decimal(300), Decimal(150), Decimal(50)],
        ),
        admin,
    )
    services.create(
        services.CampaignData(
            name="Group leaders: new customers",
            description="Group leaders: win new customers for the shop.",
            metric=CampaignMetric.NEW_CUSTOMERS,
            starts_at=today - timedelta(days=30),
            ends_at=today + timedelta(days=30),
            eligible_roles=[DistributorRole.GROUP_LEADER.value],
            eligible_level_ids=[],
            tiers=[(Decimal(2), Decimal(80)), (Decimal(5), Decimal(250))],
            prizes=[],
        ),
        admin,
    )
    closed = services.create(
        services.CampaignData(
            name="Summer sales race",
            description="Top sellers of the period win a prize.",
            metric=CampaignMetric.SALES,
            starts_at=today - timedelta(days=80),
            ends_at=today - timedelta(days=50),
            eligible_roles=[],
            eligible_level_ids=[],
            tiers=[(Decimal(1000), Decimal(100))],
            prizes=[Decimal(500), Decimal(250), Decimal(100)],
        ),
        admin,
    )
    services.start_closing(closed.id)
    services.award(closed.id)
