"""The report's date range, and its distributors as CSV lines: the rules the report pages
apply to what they are asked and what they hand out."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP

from portal.csvwriter import GuardedWriter
from portal.money import quantum
from portal.periods import Period, last_days
from portal.reports import services
from portal.settings import services as settings
from portal.timeutil import utcnow

MAX_DAYS = 366
DEFAULT_DAYS = 30
CSV_CHUNK = 500  # rows per streamed piece


@dataclass(frozen=True)
class Range:
    period: Period
    first: date  # inclusive UTC days, as shown in the form
    last: date


def report_range(raw_first: str, raw_last: str) -> Range:
    """``from``/``to`` (inclusive UTC days); missing, malformed, reversed or longer than
    :data:`MAX_DAYS` → the last 30 days."""
    try:
        first = date.fromisoformat(raw_first)
        last = date.fromisoformat(raw_last)
    except ValueError:
        return _default()
    if last < first or (last - first).days >= MAX_DAYS:
        return _default()
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last, time(), UTC) + timedelta(days=1)
    return Range(Period(start, end), first, last)


def _default() -> Range:
    period = last_days(DEFAULT_DAYS, utcnow())
    return Range(period, period.first_day, period.end.date() - timedelta(days=1))


def csv_name(span: Range) -> str:
    return f"distributors-{span.first.isoformat()}-{span.last.isoformat()}.csv"


def distributor_csv(span: Range) -> Iterator[str]:
    """Every distributor with sales in the range, best first, in pieces of
    :data:`CSV_CHUNK` rows; amounts rounded half up to the currency's minor unit."""
    currency = settings.get("currency")
    cents = quantum(currency)  # once, not twice per row
    buffer = io.StringIO()
    writer = GuardedWriter(buffer)
    writer.writerow(["code", "name", "level", "orders", "sales", "commission", "currency"])
    for n, row in enumerate(services.export_rows(span.period), start=1):
        writer.writerow(
            [
                row.code,
                row.name,
                row.level,
                row.orders,
                row.sales.quantize(cents, ROUND_HALF_UP),
                row.commission.quantize(cents, ROUND_HALF_UP),
                currency,
            ]
        )
        if n % CSV_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
