"""Campaign pages: ops at /admin/campaigns, distributors at /me/campaigns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import distributor_blueprint, staff_blueprint
from portal.campaigns import overview, services
from portal.campaigns.forms import CampaignForm
from portal.campaigns.labels import AWARD_STATE_LABELS, METRIC_LABELS, STATE_LABELS
from portal.campaigns.models import CampaignMetric
from portal.distributors.current import current_distributor
from portal.forms import Form
from portal.rendering import is_htmx, render
from portal.timeutil import utcnow

admin = staff_blueprint("admin_campaigns", __name__)
me = distributor_blueprint("me_campaigns", __name__)


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


@admin.get("/campaigns")
def index() -> Response:
    return render(
        "admin/campaigns.html",
        "admin/_campaign_table.html",
        page=overview.admin_page(),
        now=utcnow(),
        **_labels(),
    )


@admin.route("/campaigns/new", methods=["GET", "POST"])
def new() -> Response:
    form = CampaignForm(levels=overview.level_choices())
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
    """The campaign with its preview (:func:`portal.campaigns.overview.preview`)."""
    preview = overview.preview(campaign_id) or abort(404)
    return render(
        "admin/campaign.html",
        "admin/_campaign_preview.html",
        campaign=preview.campaign,
        board=preview.board,
        awards=preview.awards,
        booked=preview.booked,
        names=preview.names,
        now=utcnow(),
        form=Form(),
        **_labels(),
    )


@admin.post("/campaigns/<int:campaign_id>/close")
def close(campaign_id: int) -> Response:
    """Award a campaign whose period is over now, without waiting for the periodic job."""
    if overview.campaign(campaign_id) is None:
        abort(404)
    if not Form().validate():
        abort(400)
    if services.close_now(campaign_id, current_user):
        flash(_("Awarding started."), "success")
    else:
        flash(_("Only a campaign whose period is over can be closed."), "error")
    return redirect(url_for("admin_campaigns.detail", campaign_id=campaign_id))


def _refresh_seconds() -> int:
    return int(current_app.config["PORTAL_CAMPAIGN_REFRESH_SECONDS"])


@me.get("/campaigns")
def mine() -> Response:
    page = overview.mine(current_distributor())
    return render(
        "me/campaigns.html",
        "me/campaigns.html",
        running=page.running,
        past=page.past,
        won=page.won,
        held_until=page.held_until,
        refresh=_refresh_seconds(),
        **_labels(),
    )


@me.get("/campaigns/<int:campaign_id>/progress")
def card(campaign_id: int) -> Response:
    """One campaign's progress card; the page polls it (htmx) while the campaign runs."""
    campaign, progress = overview.card(campaign_id, current_distributor()) or abort(404)
    return render(
        "me/campaign_progress.html",
        "me/_campaign_card.html",
        campaign=campaign,
        p=progress,
        refresh=_refresh_seconds(),
        **_labels(),
    )


@me.get("/campaigns/leaderboard")
def leaderboard() -> Response:
    """Leaderboards: one campaign's, or a metric's for this month or all time. Names are
    shortened; the signed-in distributor's own row is marked."""
    distributor = current_distributor()
    board = overview.leaderboard(
        distributor.id,
        request.args.get("period", "month"),
        request.args.get("campaign", type=int),
        request.args.get("metric", CampaignMetric.ORDERS.value),
    ) or abort(404)
    return render(
        "me/campaign_leaderboard.html",
        "me/_campaign_board.html",
        board=board.board,
        mine=board.mine,
        period=board.period,
        metric=board.metric,
        campaign=board.campaign,
        me_id=distributor.id,
        metrics=CampaignMetric,
        **_labels(),
    )
