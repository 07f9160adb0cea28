"""The distributor's posters under /me/posters: the poster shown as a picture in the page
(WeChat's in-app browser cannot download files: its people long-press to save), a
download elsewhere, and "Share…" with the picture where the browser shares files.

Every poster is the signed-in distributor's own: no URL names a distributor, so none
reaches another's poster.
"""

from __future__ import annotations

from flask import abort, make_response, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal import onboarding
from portal.accounts.access import distributor_blueprint
from portal.distributors.current import current_promoter
from portal.distributors.models import Distributor
from portal.errors import NotFound
from portal.extensions import db
from portal.links import poster_services as service
from portal.links import services
from portal.links.models import PosterKind, PosterTemplate
from portal.links.views import _safe
from portal.rendering import render

me = distributor_blueprint("me_posters", __name__)
WECHAT = "MicroMessenger"  # WeChat's in-app browser names itself so in its user agent


def _template(kind: PosterKind) -> PosterTemplate | None:
    try:
        return service.chosen(kind, request.args.get("template", type=int))
    except NotFound:
        abort(404)


def in_wechat() -> bool:
    return WECHAT in request.user_agent.string


def _png(distributor: Distributor, data: bytes, filename: str) -> Response:
    """Inline for the page's <img>; an attachment with ``?download=1``. A poster shown
    is one ready to long-press and save: it ticks "save your poster" off the checklist."""
    onboarding.record(distributor.id, onboarding.Step.SAVE_POSTER)
    db.session.commit()
    response = make_response(data)
    response.mimetype = "image/png"
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _page(kind: PosterKind, template: PosterTemplate | None, **context: object) -> Response:
    response = render(
        "me/poster.html",
        "me/_poster.html",
        kind=kind,
        template=template,
        templates=service.active_templates(kind),
        wechat=in_wechat(),
        **context,
    )
    response.vary.add("User-Agent")  # WeChat's browser gets no download button
    return response


@me.get("/posters/p/<product_id>")
def product(product_id: str) -> Response:
    distributor = current_promoter()
    item = services.product(product_id) or abort(404)
    template = _template(PosterKind.PRODUCT)
    args = {"product_id": item.product_id, "template": template.id if template else None}
    link = services.short_url(services.link_code(distributor), item.product_id)
    return _page(
        PosterKind.PRODUCT,
        template,
        title=item.name or item.product_id,
        image_url=url_for(".product_png", **args),
        download_url=url_for(".product_png", download="1", **args),
        file_name=f"{distributor.code}-{_safe(item.product_id)}-poster.png",
        share_text=f"{item.name} {link}".strip(),
        endpoint=".product",
        endpoint_args={"product_id": item.product_id},
    )


@me.get("/posters/p/<product_id>/poster.png")
def product_png(product_id: str) -> Response:
    distributor = current_promoter()
    item = services.product(product_id) or abort(404)
    data = service.product_poster(distributor, item, _template(PosterKind.PRODUCT))
    return _png(distributor, data, f"{distributor.code}-{_safe(item.product_id)}-poster.png")


@me.get("/posters/invite")
def invite() -> Response:
    distributor = current_promoter()
    template = _template(PosterKind.INVITE)
    args = {"template": template.id if template else None}
    link = services.invite_url(services.link_code(distributor))
    return _page(
        PosterKind.INVITE,
        template,
        title=_("Invite poster"),
        image_url=url_for(".invite_png", **args),
        download_url=url_for(".invite_png", download="1", **args),
        file_name=f"{distributor.code}-invite-poster.png",
        share_text=_("Join my team: %(link)s", link=link),
        endpoint=".invite",
        endpoint_args={},
    )


@me.get("/posters/invite.png")
def invite_png() -> Response:
    distributor = current_promoter()
    data = service.invite_poster(distributor, _template(PosterKind.INVITE))
    return _png(distributor, data, f"{distributor.code}-invite-poster.png")
