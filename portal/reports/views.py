"""``/admin/reports``: KPIs, charts, top distributors and levels for a date range."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from flask import Response, request, stream_with_context
from flask_babel import gettext as _

from portal import formatting
from portal.accounts.access import staff_blueprint
from portal.centre.charts import bar_chart
from portal.centre.periods import Period, last_days
from portal.commissions.engine import round_money
from portal.formatting import csv_text
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
    days = services.daily(period)
    return render(
        "admin/reports.html",
        "admin/_reports.html",
        first=first,
        last=last,
        kpis=services.kpis(period),
        gmv_chart=bar_chart("gmv", [(d.day, d.gmv) for d in days], _("Sales"), formatting.money),
        commission_chart=bar_chart(
            "commission", [(d.day, d.commission) for d in days], _("Commission"), formatting.money
        ),
        top=services.ranked(period),
        levels=services.by_level(period),
    )


@admin.get("/reports/distributors.csv")
def distributors_csv() -> Response:
    """Every distributor with sales in the range, best first, streamed in pages."""
    period, first, last = _range()
    currency = settings.get("currency")

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["code", "name", "level", "orders", "sales", "commission", "currency"])
        offset = 0
        while True:
            page = services.ranked(period, limit=500, offset=offset)
            for row in page:
                d = row.distributor
                writer.writerow(
                    [
                        d.code,
                        csv_text(d.display_name),
                        csv_text(d.level.name if d.level else ""),
                        row.orders,
                        round_money(row.sales, currency),
                        round_money(row.commission, currency),
                        currency,
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if len(page) < 500:
                return
            offset += 500

    name = f"distributors-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
