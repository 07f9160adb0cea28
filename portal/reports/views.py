"""``/admin/reports``: KPIs, charts, top distributors and levels for a date range."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP

from flask import Response, request, stream_with_context
from flask_babel import gettext as _

from portal import formatting
from portal.accounts.access import staff_blueprint
from portal.centre.charts import bar_chart
from portal.csvwriter import GuardedWriter
from portal.money import quantum
from portal.periods import Period, last_days
from portal.rendering import render
from portal.reports import services
from portal.settings import services as settings
from portal.timeutil import utcnow

admin = staff_blueprint("admin_reports", __name__)
MAX_DAYS = 366


def _range() -> tuple[Period, date, date]:
    """``?from=&to=`` (inclusive UTC days); missing, malformed or reversed → 30 days."""
    try:
        first = date.fromisoformat(request.args.get("from", ""))
        last = date.fromisoformat(request.args.get("to", ""))
    except ValueError:
        period = last_days(30, utcnow())
        return period, period.first_day, period.end.date() - timedelta(days=1)
    if last < first or (last - first).days >= MAX_DAYS:
        period = last_days(30, utcnow())
        return period, period.first_day, period.end.date() - timedelta(days=1)
    start = datetime.combine(first, time(), UTC)
    return Period(start, datetime.combine(last, time(), UTC) + timedelta(days=1)), first, last


@admin.get("/reports")
def index() -> Response:
    period, first, last = _range()
    report = services.report(period)
    return render(
        "admin/reports.html",
        "admin/_reports.html",
        first=first,
        last=last,
        kpis=report.kpis,
        gmv_chart=bar_chart(
            "gmv", [(d.day, d.gmv) for d in report.days], _("Sales"), formatting.money
        ),
        commission_chart=bar_chart(
            "commission",
            [(d.day, d.commission) for d in report.days],
            _("Commission"),
            formatting.money,
        ),
        top=report.top,
        levels=report.levels,
    )


@admin.get("/reports/distributors.csv")
def distributors_csv() -> Response:
    """Every distributor with sales in the range, best first, streamed."""
    period, first, last = _range()
    currency = settings.get("currency")
    cents = quantum(currency)  # once, not twice per row

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = GuardedWriter(buffer)
        writer.writerow(["code", "name", "level", "orders", "sales", "commission", "currency"])
        for n, row in enumerate(services.export_rows(period), start=1):
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
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = f"distributors-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
