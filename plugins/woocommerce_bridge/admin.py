"""Admin → Shop: connecting the shop (address and REST keys, admin only), the shop's
currency and timezone against the portal's, the webhooks' health with re-activate and
repair, a connection test, personal coupons, the delivery log with replay, and the
reconciliation status."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from plugins.woocommerce_bridge import connection, coupons, credentials, health, inbox, sync
from plugins.woocommerce_bridge.client import BASIC, WooError
from plugins.woocommerce_bridge.forms import BulkCouponForm, ConnectForm, CouponForm
from plugins.woocommerce_bridge.models import WooDelivery, WooSyncState
from portal import jobs, storefront
from portal.accounts.access import admin_only, staff_blueprint
from portal.distributors import coupons as personal
from portal.distributors.models import PersonalCoupon
from portal.distributors.services import find_active
from portal.extensions import db
from portal.forms import Form, error_text
from portal.pagination import paginate
from portal.rendering import is_htmx, public_url, render
from portal.settings import services as settings

admin = staff_blueprint("admin_shop", __name__)
BULK_LIMIT = 100  # coupons issued per bulk run (each is a request to the shop)


def _mask(secret: str) -> str:
    return secret[:3] + "•" * max(0, len(secret) - 3) if secret else ""


def _shown(secret: str) -> str:
    """Admins see a secret whole (to copy it into the shop), ops masked."""
    return secret if current_user.role.value == "admin" else _mask(secret)


def _connect_form(creds: credentials.Credentials, form: ConnectForm | None = None) -> ConnectForm:
    """The form without the fields the environment sets (they cannot be changed here)."""
    if form is None:
        form = ConnectForm(formdata=None, data={"store_url": creds.store_url})
    stored = credentials.row()
    form.keys_kept = bool(stored is not None and stored.consumer_key and stored.consumer_secret)
    for field, name in (
        ("store_url", "store_url"),
        ("key", "consumer_key"),
        ("secret", "consumer_secret"),
    ):
        if field in creds.from_environment and name in form:
            del form[name]
    return form


def _context(
    connect_form: ConnectForm | None = None,
    bulk_form: BulkCouponForm | None = None,
    bulk_results: list[coupons.Issued] | None = None,
) -> dict[str, Any]:
    creds = credentials.effective()
    secret = creds.webhook_secret
    failed_only = request.args.get("failed") == "1"
    webhook_url = public_url("woocommerce.webhook")
    return {
        "creds": creds,
        "env_names": sorted(credentials.ENVIRONMENT[f] for f in creds.from_environment),
        "stored": credentials.row(),
        "basic": BASIC,
        "webhook_url": webhook_url,
        "delivery_warning": connection.delivery_warning(webhook_url),
        "secret": _shown(secret),
        "signin_secret": _shown(creds.signin_secret),
        "signin_url": public_url("woocommerce_signin.signin"),
        "front": storefront.current(),
        "portal_currency": settings.get("currency"),
        "currency_differs": storefront.currency_differs(),
        "health": health.report(),
        "connect_form": _connect_form(creds, connect_form),
        "state": db.session.get(WooSyncState, 1),
        "failed_only": failed_only,
        "failed": db.session.scalar(inbox.failed_count()),
        "page": paginate(inbox.deliveries_query(failed=failed_only)),
        "form": Form(),
        "coupon_form": CouponForm(formdata=None),
        "bulk_form": bulk_form or BulkCouponForm(formdata=None, prefix="bulk"),
        "bulk_results": bulk_results,
        "bulk_limit": BULK_LIMIT,
        "unsynced": db.session.scalar(
            select(func.count()).select_from(personal.unsynced().subquery())
        ),
        "coupons": db.session.scalars(
            select(PersonalCoupon)
            .options(selectinload(PersonalCoupon.distributor))
            .order_by(PersonalCoupon.synced, PersonalCoupon.id.desc())
            .limit(50)
        ).all(),
    }


def _back(anchor: str = "") -> Response:
    return redirect(url_for("admin_shop.connection") + anchor)


def _checked() -> None:
    """A bare form (a button) whose CSRF token must be good."""
    if not Form().validate():
        abort(400)


@admin.get("/shop", endpoint="connection")
def shop_page() -> Response:
    return render(
        "woocommerce_bridge/shop.html", "woocommerce_bridge/_deliveries.html", **_context()
    )


@admin.post("/shop/connect")
@admin_only
def connect() -> Response:
    creds = credentials.effective()
    form = _connect_form(creds, ConnectForm())
    if form.validate():

        def given(field: str, name: str) -> str:
            """Typed in, else the environment's or the stored one."""
            return (form[name].data if name in form else "") or getattr(creds, field)

        try:
            done = connection.connect(
                given("store_url", "store_url"),
                given("key", "consumer_key"),
                given("secret", "consumer_secret"),
                public_url("woocommerce.webhook"),
                current_user,
            )
        except WooError as exc:
            db.session.rollback()
            form.form_errors.append(_("Not connected: %(reason)s", reason=str(exc)))
        else:
            db.session.commit()
            _flash_connected(done)
            return _back()
    return render(
        "woocommerce_bridge/shop.html",
        "woocommerce_bridge/shop.html",
        http_status=400,
        **_context(form),
    )


def _flash_connected(done: connection.Connected) -> None:
    how = _("Basic auth over HTTPS") if done.auth == BASIC else _("OAuth 1.0a over HTTP")
    flash(_("Connected; the keys go to the shop with %(how)s.", how=how), "success")
    if done.repair is not None:
        _flash_repair(done.repair)
    else:
        flash(
            _(
                "The webhooks were not made: %(reason)s. Give the key Read/Write access and "
                "press Repair webhooks, or add them by hand.",
                reason=done.webhook_error,
            ),
            "error",
        )


def _flash_repair(done: connection.Repair) -> None:
    flash(
        _(
            "Webhooks: %(created)d created, %(replaced)d replaced, %(kept)d kept.",
            created=len(done.created),
            replaced=len(done.replaced),
            kept=len(done.kept),
        ),
        "success",
    )


@admin.post("/shop/webhooks/repair")
@admin_only
def repair() -> Response:
    _checked()
    try:
        done = connection.repair_webhooks(public_url("woocommerce.webhook"), current_user)
    except WooError as exc:
        db.session.rollback()
        flash(_("The webhooks were not repaired: %(reason)s", reason=str(exc)), "error")
    else:
        db.session.commit()
        _flash_repair(done)
    return _back("#webhooks")


@admin.post("/shop/webhooks/<int:webhook_id>/activate")
def activate(webhook_id: int) -> Response:
    _checked()
    try:
        found = connection.reactivate(webhook_id, current_user)
    except WooError as exc:
        db.session.rollback()
        flash(_("The webhook was not re-activated: %(reason)s", reason=str(exc)), "error")
        return _back("#webhooks")
    if not found:
        abort(404)
    db.session.commit()
    flash(
        _(
            "Webhook %(id)d is active again. WooCommerce kept its failure count: one more "
            "failed delivery disables it again (Repair webhooks replaces it with a new one).",
            id=webhook_id,
        ),
        "info",
    )
    return _back("#webhooks")


@admin.post("/shop/signin/secret")
@admin_only
def new_signin_secret() -> Response:
    """A new secret for "Sign in with the shop account" (the old one stops working)."""
    _checked()
    if "signin_secret" in credentials.effective().from_environment:
        abort(409)
    credentials.new_signin_secret(current_user)
    db.session.commit()
    flash(
        _("A new sign-in secret is set: paste it into the shop's Settings → Portal Bridge."),
        "success",
    )
    return _back("#signin")


@admin.post("/shop/currency")
@admin_only
def adopt_currency() -> Response:
    _checked()
    if storefront.adopt_currency(current_user):
        db.session.commit()
        flash(_("The portal's currency is now %(code)s.", code=settings.get("currency")), "success")
    return _back("#storefront")


@admin.post("/shop/test")
def test() -> Response:
    _checked()
    try:
        total = sync.test_connection()
        ok, message = True, _("Connected. The shop reports %(n)s orders.", n=total)
    except WooError as exc:
        ok, message = False, str(exc)
    db.session.commit()  # how the check went, for the page
    if is_htmx():
        return render(
            "woocommerce_bridge/_shop_test.html",
            "woocommerce_bridge/_shop_test.html",
            ok=ok,
            message=message,
        )
    flash(message, "success" if ok else "error")
    return _back()


@admin.post("/shop/sync")
def sync_now() -> Response:
    _checked()
    jobs.enqueue(sync.periodic_reconcile, queue=jobs.BACKGROUND, timeout=sync.RECONCILE_TIMEOUT)
    flash(_("Reconciliation started."), "info")
    return _back()


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
                coupon = coupons.issue(distributor, form.terms(), current_user)
            except (WooError, personal.CouponError) as exc:
                flash(_("The coupon was not created: %(reason)s", reason=str(exc)), "error")
            else:
                flash(_("Coupon %(code)s created in the shop.", code=coupon.code), "success")
    else:
        flash(_("The coupon was not created: %(reason)s", reason=error_text(form)), "error")
    return _back("#coupons")


@admin.post("/shop/coupons/bulk")
@admin_only
def issue_coupons() -> Response:
    """Issue coupons to the distributors named (or every active one without a coupon,
    ``BULK_LIMIT`` at a time), each alone; the page shows how each went."""
    form = BulkCouponForm(prefix="bulk")
    if not form.validate():
        return render(
            "woocommerce_bridge/shop.html",
            "woocommerce_bridge/shop.html",
            http_status=400,
            **_context(bulk_form=form),
        )
    if form.everyone.data:
        wanted, unknown = coupons.without_coupon(BULK_LIMIT), []
    else:
        codes = form.code_list()[:BULK_LIMIT]
        found = {code: find_active(code) for code in codes}
        wanted = [d for d in found.values() if d is not None]
        unknown = [code for code, d in found.items() if d is None]
    results = coupons.issue_many(wanted, form.terms(), current_user)
    results += [
        coupons.Issued(code, "", error=_("No active distributor has this code."))
        for code in unknown
    ]
    return render(
        "woocommerce_bridge/shop.html",
        "woocommerce_bridge/shop.html",
        **_context(bulk_form=form, bulk_results=results),
    )


@admin.post("/shop/coupons/retry")
def retry_coupons() -> Response:
    """Push the coupons the shop has not applied yet, now."""
    _checked()
    try:
        pushed, failed = coupons.push_pending()
    except WooError as exc:
        db.session.rollback()
        flash(_("The coupons were not sent: %(reason)s", reason=str(exc)), "error")
    else:
        flash(
            _(
                "Coupons applied in the shop: %(pushed)d; still refused: %(failed)d.",
                pushed=pushed,
                failed=failed,
            ),
            "error" if failed else "success",
        )
    return _back("#coupons")


@admin.post("/shop/deliveries/<int:delivery_id>/replay")
def replay(delivery_id: int) -> Response:
    _checked()
    if not inbox.replay(delivery_id):
        abort(404)
    jobs.enqueue(inbox.drain, queue=jobs.INTAKE, timeout=inbox.DRAIN_TIMEOUT)
    delivery = db.session.get(WooDelivery, delivery_id)
    if is_htmx():
        return render(
            "woocommerce_bridge/_delivery_row.html",
            "woocommerce_bridge/_delivery_row.html",
            d=delivery,
        )
    flash(_("Delivery %(id)d queued again.", id=delivery_id), "info")
    return _back()
