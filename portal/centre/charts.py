"""Server-side SVG charts: no JavaScript chart library, readable on a phone, with a
text alternative for screen readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup

WIDTH, HEIGHT = 640, 160
TOP = 4
PLOT_HEIGHT = HEIGHT - TOP

# The labels are HTML around the SVG, not SVG text: the SVG scales to the screen (a 640-
# unit text of 12 shrinks to 7 px on a phone), HTML text keeps the page's own size.
_BAR = Markup(
    '<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
    'data-readout="{readout}"><title>{day}: {value}</title></rect>'
)
_CHART = Markup(
    '<div class="chart" id="{id}">'
    '<p class="chart-peak"><span class="sr-only">{peak_label} </span>{peak}</p>'
    '<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
    'aria-labelledby="{id}-title" xmlns="http://www.w3.org/2000/svg">'
    '<title id="{id}-title">{summary}</title>'
    '<line class="baseline" x1="0" y1="{height}" x2="{width}" y2="{height}"/>{bars}</svg>'
    '<p class="chart-axis"><span>{first}</span><span>{last}</span></p>'
    '<p class="chart-readout" aria-hidden="true">{hint}</p>'
    '<details class="chart-days"><summary>{table_label}</summary>'
    '<table class="chart-table"><tbody>{rows}</tbody></table></details></div>'
)
_ROW = Markup('<tr><th scope="row">{day}</th><td>{value}</td></tr>')


def bar_chart(
    chart_id: str,
    points: Sequence[tuple[date, Decimal]],
    title: str,
    fmt: Callable[[Decimal], str],
) -> Markup:
    """One bar per day; the peak is labelled, a tap on a bar shows its day and value
    (portal.js), and the figures of every day are a table one tap away."""
    values = [value for _, value in points]
    peak = max((v for v in values if v > 0), default=Decimal(0))
    slot = WIDTH / max(len(points), 1)
    bars = []
    rows = []
    for index, (day, value) in enumerate(points):
        height = float(value / peak) * PLOT_HEIGHT if peak and value > 0 else 0.0
        shown = format_date(day, "medium")
        bars.append(
            _BAR.format(
                x=index * slot + slot * 0.15,
                y=TOP + PLOT_HEIGHT - height,
                w=slot * 0.7,
                h=height,
                day=day.isoformat(),
                value=fmt(value),
                readout=f"{shown}: {fmt(value)}",
            )
        )
        rows.append(_ROW.format(day=shown, value=fmt(value)))
    return _CHART.format(
        width=WIDTH,
        height=HEIGHT,
        id=chart_id,
        summary=f"{title}: {fmt(sum(values, Decimal(0)))}",
        bars=Markup("").join(bars),
        peak_label=_("Best day:"),
        peak=fmt(peak),
        first=format_date(points[0][0], "short") if points else "",
        last=format_date(points[-1][0], "short") if points else "",
        hint=_("Tap a bar for its day and amount.")
        if peak
        else _("Nothing in these days yet: share a product and your first sale shows here."),
        table_label=_("Every day's figures"),
        rows=Markup("").join(rows),
    )
