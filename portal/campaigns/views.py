"""Campaign pages: ops at /admin/campaigns, distributors at /me/campaigns."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal import jobs
from portal.accounts.access import distributor_blueprint, staff_blueprint
from portal.campaigns import progress, services
from portal.campaigns.forms import CampaignForm
from portal.campaigns.labels import AWARD_STATE_LABELS, METRIC_LABELS, STATE_LABELS
from portal.campaigns.models import (
    AwardState,
    Campaign,
    CampaignAward,
    CampaignMetric,
    CampaignState,
)
from portal.distributors.current import current_distributor
from portal.distributors.models import Distributor, Level
from portal.extensions import db
from portal.forms import Form
from portal.pagination import paginate
from portal.rendering import is_htmx, render
from portal.timeutil import utcnow

admin = staff_blueprint("admin_campaigns", __name__)
me = distributor_blueprint("me_campaigns", __name__)

BOARD_SIZE = 10
BOARD_PERIODS = ("campaign", "month", "all")


@admin.app_template_filter("campaign_number")
def campaign_number(value: Decimal) -> str:
    """A metric value or tier target without padding zeros (30.0000 → "30")."""
    return format_decimal(value, format="#,##0.##")


def _labels() -> dict[str, Any]:
    return {
        "metric_labels": METRIC_LABELS,
        "campaign_states": STATE_LABELS,
        "award_state_labels": AWARD_STATE_LABELS,
    }


def _levels() -> list[tuple[int, str]]:
    return [(lv.id, lv.name) for lv in db.session.scalars(select(Level).order_by(Level.rank))]


@admin.get("/campaigns")
def index() -> Response:
    page = paginate(select(Campaign).order_by(Campaign.ends_at.desc(), Campaign.id.desc()))
    return render(
        "admin/campaigns.html", "admin/_campaign_table.html", page=page, now=utcnow(), **_labels()
    )


@admin.route("/campaigns/new", methods=["GET", "POST"])
def new() -> Response:
    form = CampaignForm(levels=_levels())
    if form.validate_on_submit():
        campaign = services.create(form.data_object(), current_user)
        flash(_("Campaign “%(name)s” created.", name=campaign.name), "success")
        target = url_for("admin_campaigns.detail", campaign_id=campaign.id)
        if is_htmx():  # the whole page moves on: the form's hx-select finds nothing there
            return Response(status=204, headers={"HX-Redirect": target})
        return redirect(target)
    status = 422 if form.is_submitted() else 200
    return render(
        "admin/campaign_new.html", "admin/_campaign_form.html", http_status=status, form=form
    )


@admin.get("/campaigns/<int:campaign_id>")
def detail(campaign_id: int) -> Response:
    """The campaign with its preview: who would win what if it closed with today's
    figures (the award job books the same list, from the same functions)."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.state is CampaignState.OPEN:
        awards = progress.outcome(campaign)
        booked = False
    else:
        awards = db.session.scalars(  # with their state (portal.campaigns.settlement)
            select(CampaignAward)
            .where(CampaignAward.campaign_id == campaign.id)
            .order_by(CampaignAward.id)
        ).all()
        booked = True
    names = dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(
                Distributor.id.in_({a.distributor_id for a in awards})
            )
        ).all()
    )
    return render(
        "admin/campaign.html",
        "admin/_campaign_preview.html",
        campaign=campaign,
        board=progress.standings(campaign, limit=50),
        awards=awards,
        booked=booked,
        names=names,
        now=utcnow(),
        form=Form(),
        **_labels(),
    )


@admin.post("/campaigns/<int:campaign_id>/close")
def close(campaign_id: int) -> Response:
    """Award a campaign whose period is over now, without waiting for the periodic job."""
    campaign = db.get_or_404(Campaign, campaign_id)
    if not Form().validate():
        abort(400)
    if services.start_closing(campaign.id, actor=current_user) or (
        campaign.state is CampaignState.CLOSING
    ):
        jobs.enqueue(services.award, campaign_id, queue=jobs.BACKGROUND, timeout=1800)
        flash(_("Awarding started."), "success")
    else:
        flash(_("Only a campaign whose period is over can be closed."), "error")
    return redirect(url_for("admin_campaigns.detail", campaign_id=campaign_id))


def _visible(distributor: Distributor) -> list[Campaign]:
    now = utcnow()
    running = db.session.scalars(
        select(Campaign)
        .where(
            Campaign.state == CampaignState.OPEN,
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
        )
        .order_by(Campaign.ends_at, Campaign.id)
    ).all()
    return [c for c in running if progress.is_eligible(c, distributor)]


def _refresh_seconds() -> int:
    return int(current_app.config["PORTAL_CAMPAIGN_REFRESH_SECONDS"])


@me.get("/campaigns")
def mine() -> Response:
    distributor = current_distributor()
    running = _visible(distributor)
    past = db.session.scalars(
        select(Campaign)
        .where(Campaign.state == CampaignState.CLOSED)
        .order_by(Campaign.ends_at.desc(), Campaign.id.desc())
        .limit(10)
    ).all()
    # Decimal(str()): SQLite sums NUMERIC as floats.
    won, held_until = {}, {}
    for campaign_id, total, holding in db.session.execute(
        select(
            CampaignAward.campaign_id,
            func.sum(CampaignAward.amount),
            func.max(CampaignAward.matures_at).filter(CampaignAward.state == AwardState.HOLDING),
        )
        .where(CampaignAward.distributor_id == distributor.id)
        .group_by(CampaignAward.campaign_id)
    ):
        won[campaign_id] = Decimal(str(total))
        if holding is not None:
            held_until[campaign_id] = holding
    return render(
        "me/campaigns.html",
        "me/campaigns.html",
        running=[(c, progress.progress_for(c, distributor.id)) for c in running],
        past=past,
        won=won,
        held_until=held_until,
        refresh=_refresh_seconds(),
        **_labels(),
    )


@me.get("/campaigns/<int:campaign_id>/progress")
def card(campaign_id: int) -> Response:
    """One campaign's progress card; the page polls it (htmx) while the campaign runs."""
    distributor = current_distributor()
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not progress.is_eligible(campaign, distributor):
        abort(404)
    return render(
        "me/campaign_progress.html",
        "me/_campaign_card.html",
        campaign=campaign,
        p=progress.progress_for(campaign, distributor.id),
        refresh=_refresh_seconds(),
        **_labels(),
    )


@me.get("/campaigns/leaderboard")
def leaderboard() -> Response:
    """Leaderboards: one campaign's, or a metric's for this month or all time. Names are
    shortened; the signed-in distributor's own row is marked."""
    distributor = current_distributor()
    period = request.args.get("period", "month")
    if period not in BOARD_PERIODS:
        period = "month"
    campaign = None
    if period == "campaign":
        campaign_id = request.args.get("campaign", type=int)
        campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
        if campaign is None or campaign.starts_at > utcnow():
            abort(404)
        everyone = progress.standings(campaign)
        metric = campaign.metric
    else:
        metric_name = request.args.get("metric", CampaignMetric.ORDERS.value)
        metric = CampaignMetric(
            metric_name if metric_name in CampaignMetric.__members__.values() else "orders"
        )
        now = utcnow()
        start = datetime(now.year, now.month, 1, tzinfo=UTC) if period == "month" else None
        values = progress.active_only(progress.metric_values(metric, start, now))
        everyone = progress.rank(values)
    board, mine = progress.top_and_mine(everyone, BOARD_SIZE, distributor.id)
    return render(
        "me/campaign_leaderboard.html",
        "me/_campaign_board.html",
        board=board,
        mine=mine,
        period=period,
        metric=metric,
        campaign=campaign,
        me_id=distributor.id,
        metrics=CampaignMetric,
        **_labels(),
    )
