"""The distributor's centre under ``/me``: dashboard, chart, team, orders and statement."""

from __future__ import annotations

from flask import Response, abort, request, stream_with_context
from flask_babel import gettext as _

from portal import formatting, periods
from portal.accounts.access import distributor_blueprint
from portal.centre import charts, figures, onboarding, statement, team
from portal.commissions import estimates
from portal.distributors.current import can_promote, current_distributor
from portal.distributors.models import DistributorStatus
from portal.distributors.services import direct_recruits
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.ledger.services import balances
from portal.levels import criteria as levels
from portal.pagination import paginate
from portal.rendering import public_url, render
from portal.timeutil import utcnow

me = distributor_blueprint("me", __name__)
CHART_DAYS = (7, 30, 90)


def _chart_context(points: list[figures.DayPoint], days: int) -> dict[str, object]:
    return {
        "days": days,
        "chart_days": CHART_DAYS,
        "sales_chart": charts.bar_chart(
            "sales-chart", [(p.day, p.sales) for p in points], _("Sales"), formatting.money
        ),
        "earned_chart": charts.bar_chart(
            "earned-chart", [(p.day, p.earned) for p in points], _("Commission"), formatting.money
        ),
    }


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in CHART_DAYS else 30


@me.get("/")
def home() -> Response:
    distributor = current_distributor()
    context: dict[str, object] = {
        "distributor": distributor,
        "buckets": Bucket,
        "can_promote": can_promote(distributor),
        "invite_url": public_url("join.invite", code=distributor.code),
    }
    if distributor.status in (DistributorStatus.ACTIVE, DistributorStatus.SUSPENDED):
        now = utcnow()
        target = levels.next_level(distributor.level)
        days = _days()
        chart = periods.last_days(days, now)
        wanted = [periods.month_of(now), periods.previous_month(now), periods.last_days(30, now)]
        if target is not None:
            wanted.append(levels.window(target, now))
        daily = figures.series(distributor.id, periods.covering([*wanted, chart]))
        this_month, last_month, funnel, *window = [daily.figures(p) for p in wanted]
        context.update(
            balances=balances(distributor.id),
            maturing=figures.maturing(distributor.id),
            this_month=this_month,
            last_month=last_month,
            earned_change=figures.month_change(this_month.earned, last_month.earned),
            funnel=funnel,
            progress=levels.progress(distributor, now, target, window[0] if window else None),
            recruits=direct_recruits(distributor),
            rates=estimates.Estimator(distributor).rates(),
            checklist=onboarding.checklist(distributor.id),
            short_url=public_url("links.follow", code=distributor.code),
            **_chart_context(daily.points(chart), days),
        )
    return render("me/home.html", "me/home.html", **context)


@me.get("/account")
def account() -> Response:
    """The "Me" tab: every page the four other tabs do not hold, and signing out."""
    distributor = current_distributor()
    return render("me/account.html", "me/account.html", distributor=distributor)


@me.post("/onboarding/copied")
def link_copied() -> Response:
    """Posted by the copy buttons of the Share page (htmx, alongside the copy itself,
    which happens in the browser): ticks "copy your link" off the checklist."""
    onboarding.record(current_distributor().id, onboarding.Step.COPY_LINK)
    db.session.commit()
    return Response(status=204)


@me.get("/chart")
def chart() -> Response:
    distributor = current_distributor()
    days = _days()
    period = periods.last_days(days, utcnow())
    points = figures.series(distributor.id, period).points(period)
    return render(
        "me/chart.html", "me/_chart.html", distributor=distributor, **_chart_context(points, days)
    )


@me.get("/team")
def team_list() -> Response:
    distributor = current_distributor()
    depth = request.args.get("depth", type=int)
    depth = depth if depth in team.DEPTHS else None
    search = (request.args.get("q") or "").strip()[:80]
    page = team.members_page(distributor.id, depth, search)
    month = periods.month_of(utcnow())
    return render(
        "me/team.html",
        "me/_team_table.html",
        distributor=distributor,
        page=page,
        counts=team.counts(distributor.id),
        member_figures=team.figures(distributor.id, [m.id for m in page.items], month),
        depth=depth,
        q=search,
    )


def _statement_filters() -> tuple[object, periods.Period | None, str]:
    month_text = request.args.get("month") or ""
    month = periods.parse_month(month_text)
    return statement.state_filter(request.args.get("state")), month, month_text if month else ""


@me.get("/orders")
def orders() -> Response:
    distributor = current_distributor()
    state, month, month_text = _statement_filters()
    page = paginate(statement.lines_query(distributor.id, state, month))
    return render(
        "me/orders.html",
        "me/_orders_table.html",
        distributor=distributor,
        page=page,
        rows=statement.rows(distributor.id, page.items),
        state=state.value if state else "",
        month=month_text,
    )


@me.get("/orders/<int:order_id>")
def order(order_id: int) -> Response:
    distributor = current_distributor()
    found = statement.find_order(distributor.id, order_id)
    if found is None:
        abort(404)
    row = statement.order_row(distributor.id, found)
    return render("me/order.html", "me/order.html", distributor=distributor, row=row)


@me.get("/statement.csv")
def statement_csv() -> Response:
    distributor = current_distributor()
    state, month, month_text = _statement_filters()
    name = f"statement-{distributor.code}-{month_text or 'all'}.csv"
    return Response(
        stream_with_context(statement.csv_lines(distributor.id, state, month)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
