"""Calendar periods for the centre's numbers. Days and months are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive
    end: datetime  # exclusive

    @property
    def first_day(self) -> date:
        return self.start.date()


def month_of(moment: datetime) -> Period:
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    return Period(start, _next_month(start))


def previous_month(moment: datetime) -> Period:
    this = month_of(moment)
    return month_of(this.start - timedelta(days=1))


def parse_month(text: str | None) -> Period | None:
    """``YYYY-MM`` → that month; anything else → ``None`` (no filter)."""
    if not text:
        return None
    try:
        moment = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        return None
    return month_of(moment)


def last_days(days: int, now: datetime) -> Period:
    """The last ``days`` calendar days including today."""
    end = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return Period(end - timedelta(days=days), end)


def covering(periods: list[Period]) -> Period:
    return Period(min(p.start for p in periods), max(p.end for p in periods))


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
