"""The creator tools (``/me/links/creator``): choose a vanity code once, make a short link
to any page of the shop, and see clicks, orders and commission by sub-id and by site."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import distributor_blueprint
from portal.distributors import vanity
from portal.distributors.current import current_promoter
from portal.distributors.models import Distributor
from portal.distributors.services import RecruitmentError
from portal.extensions import db
from portal.forms import attach_error
from portal.links import creator, deep
from portal.links.forms import DeepLinkForm, PeriodForm, VanityForm
from portal.rendering import render

me = distributor_blueprint("me_creator", __name__)


def _page(
    distributor: Distributor,
    vanity_form: VanityForm | None = None,
    link_form: DeepLinkForm | None = None,
    status: int = 200,
) -> Response:
    period_form = PeriodForm(request.args)
    days = int(period_form.days.data) if period_form.validate() else creator.DEFAULT_DAYS
    return render(
        "me/creator.html",
        "me/_creator_stats.html",
        http_status=status,
        overview=creator.overview(distributor, days),
        distributor=distributor,
        vanity_form=vanity_form or VanityForm(formdata=None),
        link_form=link_form or DeepLinkForm(formdata=None),
        period_form=period_form,
    )


@me.get("/links/creator")
def index() -> Response:
    """The page; with htmx (the period picker) only the statistics."""
    return _page(current_promoter())


@me.post("/links/creator/code")
def choose_code() -> Response:
    distributor = current_promoter()
    form = VanityForm()
    if form.validate():
        try:
            code = vanity.choose(distributor, form.vanity_code.data or "", current_user)
        except RecruitmentError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash(_("Your links now read %(code)s.", code=code), "success")
            return redirect(url_for("me_creator.index"))
    return _page(distributor, vanity_form=form, status=400)


@me.post("/links/creator/deep")
def make_link() -> Response:
    distributor = current_promoter()
    form = DeepLinkForm()
    if form.validate():
        try:
            deep.create(distributor, form.url.data or "")
        except deep.DeepLinkError as exc:
            db.session.rollback()
            attach_error(form, exc, "url")
        else:
            db.session.commit()
            flash(_("Your link is ready: copy it below."), "success")
            return redirect(url_for("me_creator.index") + "#deep-links")
    return _page(distributor, link_form=form, status=400)
