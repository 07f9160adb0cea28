"""Server-side SVG charts: no JavaScript chart library, readable on a phone, with a
text alternative for screen readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from flask_babel import format_date
from markupsafe import Markup

WIDTH, HEIGHT = 640, 200
TOP, BOTTOM, LEFT = 16, 24, 4  # room for the peak label and the date labels
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM

_BAR = Markup(
    '<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}">'
    "<title>{day}: {value}</title></rect>"
)
_CHART = Markup(
    '<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title" '
    'xmlns="http://www.w3.org/2000/svg">'
    '<title id="{id}-title">{summary}</title>'
    '<line class="baseline" x1="0" y1="{base}" x2="{width}" y2="{base}"/>{bars}'
    '<text class="axis" x="{left}" y="{peak_y}">{peak}</text>'
    '<text class="axis" x="{left}" y="{date_y}">{first}</text>'
    '<text class="axis" x="{width}" y="{date_y}" text-anchor="end">{last}</text></svg>'
)


def bar_chart(
    chart_id: str,
    points: Sequence[tuple[date, Decimal]],
    title: str,
    fmt: Callable[[Decimal], str],
) -> Markup:
    """One bar per day; the peak is labelled and each bar carries its value as a tooltip."""
    values = [value for _, value in points]
    peak = max((v for v in values if v > 0), default=Decimal(0))
    slot = (WIDTH - LEFT) / max(len(points), 1)
    bars = []
    for index, (day, value) in enumerate(points):
        height = float(value / peak) * PLOT_HEIGHT if peak and value > 0 else 0.0
        bars.append(
            _BAR.format(
                x=LEFT + index * slot + slot * 0.15,
                y=TOP + PLOT_HEIGHT - height,
                w=slot * 0.7,
                h=height,
                day=day.isoformat(),
                value=fmt(value),
            )
        )
    return _CHART.format(
        width=WIDTH,
        height=HEIGHT,
        id=chart_id,
        summary=f"{title}: {fmt(sum(values, Decimal(0)))}",
        base=TOP + PLOT_HEIGHT,
        bars=Markup("").join(bars),
        left=LEFT,
        peak_y=TOP - 4,
        peak=fmt(peak),
        date_y=HEIGHT - 6,
        first=format_date(points[0][0], "short") if points else "",
        last=format_date(points[-1][0], "short") if points else "",
    )
