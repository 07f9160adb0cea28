"""Short-link redirects (public) and the distributor's links & QR page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import onboarding, storefront
from portal.accounts.access import distributor_blueprint
from portal.commissions import estimates
from portal.distributors import coupons as personal
from portal.distributors import recruitment, signals
from portal.distributors.current import can_promote, current_distributor, current_promoter
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.forms import Form
from portal.links import cards, poster_services, qr, services
from portal.pagination import paginate
from portal.rendering import is_htmx, render
from portal.settings import services as settings

public = Blueprint("links", __name__)
me = distributor_blueprint("me_links", __name__)


# --- public short links ------------------------------------------------------------------


@public.get("/r/<code>", endpoint="follow")
@public.get("/r/<code>/p/<product_id>", endpoint="follow_product")
@public.get("/r/<code>/l/<slug>", endpoint="follow_deep")
def follow(
    code: str, product_id: str | None = None, slug: str | None = None
) -> Response | tuple[str, int]:
    """Count the click (people only, no raw IP or user agent) and send them to the shop,
    remembering whose link it was should they later join (the ref cookie). ``?sub=``
    names the post or channel the link was shared in."""
    shop_url = storefront.url()
    if not shop_url:
        return render_template("links/unavailable.html"), 503
    user_agent = request.user_agent.string
    sub = services.clean_sub(request.args.get("sub"))
    visit = None
    if not services.is_bot(user_agent):
        visit = services.Visit(
            services.visitor_hash(
                current_app.config["SECRET_KEY"], request.remote_addr, user_agent
            ),
            services.referrer_host(request.referrer),
            sub,
        )
    link = services.follow(code, product_id, visit, slug)
    if link is None:
        return render_template("links/unknown.html", shop_url=shop_url), 404
    response = redirect(services.target_url(shop_url, link.permalink, link.code, sub), 302)
    response.headers["Cache-Control"] = "no-store"
    recruitment.remember_referrer(response, link.code)
    return response


# --- the distributor's links & QR page -------------------------------------------------


def _saved(distributor: Distributor, data: bytes, filename: str) -> Response:
    """A QR code or share card the distributor downloads: saving one ticks "save your
    poster" off their checklist."""
    onboarding.record(distributor.id, onboarding.Step.SAVE_POSTER)
    db.session.commit()
    return _png(data, filename)


def _png(data: bytes, filename: str) -> Response:
    response = make_response(data)
    response.mimetype = "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _results(distributor: Distributor) -> dict[str, Any]:
    search = request.args.get("q", "").strip()
    page = paginate(services.products_query(search))
    estimator = estimates.Estimator(distributor)
    return {
        "q": search,
        "page": page,
        "results": services.product_links(page.items, services.link_code(distributor)),
        "estimates": estimator.products(page.items),
        "rates": estimator.rates(),
    }


@me.get("/links")
def index() -> Response:
    distributor = current_distributor()
    return _page(distributor, _results(distributor) if can_promote(distributor) else {})


def can_self_issue(distributor: Distributor) -> bool:
    return bool(settings.get("coupon_self_issue")) and can_promote(distributor)


def _page(distributor: Distributor, results: dict[str, Any]) -> Response:
    if is_htmx():
        # The live search swaps the results only: the QR codes (most of the page's time)
        # and coupons are not built for it.
        return render("me/links.html", "me/_product_links.html", **results)
    coupons = personal.of(distributor.id)
    context: dict[str, Any] = {
        "distributor": distributor,
        "promoting": can_promote(distributor),
        "coupons": coupons,
        "self_issue": not coupons and can_self_issue(distributor),
        "coupon_form": Form(formdata=None),
        **results,
    }
    if context["promoting"]:
        shop_link = services.short_url(services.link_code(distributor))
        invite_link = services.invite_url(services.link_code(distributor))
        context.update(
            shop_link=shop_link,
            shop_qr=qr.svg(shop_link, _("QR code for your shop link")),
            invite_link=invite_link,
            invite_qr=qr.svg(invite_link, _("QR code for your invite link")),
        )
    return render("me/links.html", "me/_product_links.html", **context)


@me.post("/links/coupon")
def issue_coupon() -> Response:
    """The distributor issues their own coupon (when the setting allows), with the
    configured discount and limits; the shop plugin creates it in the shop."""
    distributor = current_promoter()
    if not Form().validate():
        abort(400)
    try:
        if not can_self_issue(distributor):
            raise personal.CouponError(_("Coupons are issued by the shop: ask them for one."))
        personal.new(distributor, personal.configured_terms(), current_user)
    except personal.CouponError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        signals.coupons_changed.send(distributor.id)
        flash(_("Your coupon is on its way to the shop."), "success")
    return redirect(url_for("me_links.index") + "#coupon-title")


@me.get("/links/products")
def products() -> Response:
    """Live product search: the results fragment for htmx, the whole page otherwise."""
    distributor = current_promoter()
    return _page(distributor, _results(distributor))


@me.get("/links/qr.png")
def shop_qr() -> Response:
    distributor = current_promoter()
    return _saved(
        distributor,
        qr.png(services.short_url(services.link_code(distributor))),
        f"{distributor.code}-shop.png",
    )


@me.get("/links/invite-qr.png")
def invite_qr() -> Response:
    distributor = current_promoter()
    return _saved(
        distributor,
        qr.png(services.invite_url(services.link_code(distributor))),
        f"{distributor.code}-invite.png",
    )


@me.get("/links/p/<product_id>/qr.png")
def product_qr(product_id: str) -> Response:
    distributor = current_promoter()
    product = services.product(product_id) or abort(404)
    link = services.short_url(services.link_code(distributor), product.product_id)
    return _saved(distributor, qr.png(link), f"{distributor.code}-{_safe(product.product_id)}.png")


@me.get("/links/p/<product_id>/card.png")
def product_card(product_id: str) -> Response:
    distributor = current_promoter()
    product = services.product(product_id) or abort(404)
    brand = poster_services.brand()
    card = cards.Card(
        name=product.name,
        price=services.price_text(product.price),
        image_url=product.image_url,
        link=services.short_url(services.link_code(distributor), product.product_id),
        scan_hint=_("Scan to shop"),
        shared_by=_("Shared by %(name)s", name=distributor.display_name),
        shop=brand.name,
        logo=brand.logo(),
    )
    data = cards.render(
        card, current_app.config["PORTAL_CARD_FONT"] or None, cards.fetch_image(product.image_url)
    )
    return _saved(distributor, data, f"{distributor.code}-{_safe(product.product_id)}-card.png")


def _safe(name: str) -> str:
    """A file-name-safe form of a shop product id (the shop's ids are digits)."""
    return "".join(ch for ch in name if ch.isascii() and (ch.isalnum() or ch in "-_")) or "product"
