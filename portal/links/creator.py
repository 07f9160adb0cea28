"""What the creator tools page shows: the vanity code, the links to shop pages, and the
statistics by sub-id and by referring site for a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal.distributors.models import Distributor
from portal.links import deep, services, stats
from portal.links.models import DeepLink
from portal.periods import Period, last_days
from portal.timeutil import utcnow

PERIODS = (7, 30, 90, 365)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Overview:
    link_code: str
    shop_link: str
    example_sub_link: str
    deep_links: list[tuple[DeepLink, str]]
    period: Period
    by_sub: stats.Split
    by_site: stats.Split

    @property
    def last_day(self) -> date:
        return (self.period.end - timedelta(days=1)).date()


def overview(distributor: Distributor, days: int) -> Overview:
    period = last_days(days if days in PERIODS else DEFAULT_DAYS, utcnow())
    shop_link = services.short_url(services.link_code(distributor))
    return Overview(
        link_code=services.link_code(distributor),
        shop_link=shop_link,
        example_sub_link=f"{shop_link}?sub=douyin-0312",
        deep_links=[
            (link, deep.short_url(distributor, link)) for link in deep.recent(distributor.id)
        ],
        period=period,
        by_sub=stats.by_sub(distributor.id, period),
        by_site=stats.by_site(distributor.id, period),
    )
