"""``/admin/reports``: KPIs, charts, top distributors and levels for a date range."""

from __future__ import annotations

from flask import Response, request, stream_with_context
from flask_babel import gettext as _

from portal import formatting
from portal.accounts.access import staff_blueprint
from portal.centre.charts import bar_chart
from portal.rendering import render
from portal.reports import ranges, services

admin = staff_blueprint("admin_reports", __name__)


def _range() -> ranges.Range:
    return ranges.report_range(request.args.get("from", ""), request.args.get("to", ""))


@admin.get("/reports")
def index() -> Response:
    span = _range()
    report = services.report(span.period)
    return render(
        "admin/reports.html",
        "admin/_reports.html",
        first=span.first,
        last=span.last,
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
    span = _range()
    return Response(
        stream_with_context(ranges.distributor_csv(span)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{ranges.csv_name(span)}"'},
    )
