"""Admin → Shop connection: what to paste into WooCommerce, a connection test, the
delivery log with replay, and the reconciliation status."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DecimalField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from plugins.woocommerce_bridge import coupons, inbox, sync
from plugins.woocommerce_bridge.client import WooError
from plugins.woocommerce_bridge.models import WooDelivery, WooSyncState
from portal import jobs
from portal.accounts.access import admin_only, staff_blueprint
from portal.distributors.models import PersonalCoupon
from portal.distributors.services import find_active
from portal.extensions import db
from portal.forms import strip
from portal.pagination import paginate
from portal.rendering import is_htmx, public_url, render

admin = staff_blueprint("admin_shop", __name__)


def _mask(secret: str) -> str:
    return secret[:3] + "•" * max(0, len(secret) - 3) if secret else ""


@admin.get("/shop")
def connection() -> Response:
    cfg = current_app.config
    secret = cfg["WOO_WEBHOOK_SECRET"]
    return render(
        "admin/shop.html",
        "admin/_deliveries.html",
        webhook_url=public_url("woocommerce.webhook"),
        secret=secret if current_user.role.value == "admin" else _mask(secret),
        store_url=cfg["WOO_STORE_URL"],
        rest_configured=bool(cfg["WOO_CONSUMER_KEY"] and cfg["WOO_CONSUMER_SECRET"]),
        state=db.session.get(WooSyncState, 1),
        failed_only=request.args.get("failed") == "1",
        failed=db.session.scalar(inbox.failed_count()),
        page=paginate(inbox.deliveries_query(failed=request.args.get("failed") == "1")),
        form=FlaskForm(),
        coupon_form=CouponForm(formdata=None),
        coupons=db.session.scalars(
            select(PersonalCoupon).order_by(PersonalCoupon.id.desc()).limit(50)
        ).all(),
    )


@admin.post("/shop/test")
def test() -> Response:
    if not FlaskForm().validate():
        abort(400)
    try:
        total = sync.test_connection()
        ok, message = True, _("Connected. The shop reports %(n)s orders.", n=total)
    except WooError as exc:
        ok, message = False, str(exc)
    if is_htmx():
        return render("admin/_shop_test.html", "admin/_shop_test.html", ok=ok, message=message)
    flash(message, "success" if ok else "error")
    return redirect(url_for("admin_shop.connection"))


@admin.post("/shop/sync")
def sync_now() -> Response:
    if not FlaskForm().validate():
        abort(400)
    jobs.enqueue(sync.periodic_reconcile)
    flash(_("Reconciliation started."), "info")
    return redirect(url_for("admin_shop.connection"))


class CouponForm(FlaskForm):
    code = StringField(
        _l("Distributor code"), validators=[DataRequired(), Length(max=8)], filters=[strip]
    )
    percent = DecimalField(
        _l("Discount %"),
        places=None,
        default=Decimal("10"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=100)],
    )


@admin.post("/shop/coupons")
@admin_only
def issue_coupon() -> Response:
    form = CouponForm()
    if form.validate():
        distributor = find_active(form.code.data)
        if distributor is None:
            flash(_("No active distributor has the code %(code)s.", code=form.code.data), "error")
        else:
            try:
                coupon = coupons.issue(distributor, form.percent.data, current_user)
            except WooError as exc:
                flash(_("The coupon was not created: %(reason)s", reason=str(exc)), "error")
            else:
                flash(_("Coupon %(code)s created in the shop.", code=coupon.code), "success")
    else:
        flash(_("Give a distributor code and a discount from 0.01 to 100 %."), "error")
    return redirect(url_for("admin_shop.connection") + "#coupons")


@admin.post("/shop/deliveries/<int:delivery_id>/replay")
def replay(delivery_id: int) -> Response:
    if not FlaskForm().validate():
        abort(400)
    if not inbox.replay(delivery_id):
        abort(404)
    jobs.enqueue(inbox.drain)
    delivery = db.session.get(WooDelivery, delivery_id)
    if is_htmx():
        return render("admin/_delivery_row.html", "admin/_delivery_row.html", d=delivery)
    flash(_("Delivery %(id)d queued again.", id=delivery_id), "info")
    return redirect(url_for("admin_shop.connection"))
