"""``/admin/orders``: find an order, see who earns what on it and why, re-assign it."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import confirm
from portal.accounts.access import staff_blueprint
from portal.commissions import reassign
from portal.console import orders as overview
from portal.formatting import money
from portal.forms import attach_error
from portal.orders.forms import ReassignForm
from portal.orders.models import Order
from portal.rendering import render

admin = staff_blueprint("admin_orders", __name__)


@admin.get("/orders")
def index() -> Response:
    search = (request.args.get("q") or "").strip()[:64]
    page, names = overview.admin_page(search)
    return render("admin/orders.html", "admin/_order_table.html", page=page, q=search, names=names)


def _page(order: Order, form: ReassignForm) -> Response:
    earnings = overview.earnings(order)
    return render(
        "admin/order.html",
        "admin/order.html",
        http_status=400 if form.errors else 200,
        o=order,
        commissions=earnings.commissions,
        people=earnings.people,
        flags=earnings.flags,
        form=form,
    )


@admin.get("/orders/<int:order_id>")
def show(order_id: int) -> Response:
    return _page(overview.order(order_id) or abort(404), ReassignForm(formdata=None))


def _reassign_question(order: Order, plan: reassign.Preview, reason: str) -> confirm.Confirmation:
    current, target = plan.current, plan.target
    number = order.number or order.shop_order_id
    return confirm.Confirmation(
        question=_(
            "Re-assign order #%(number)s to %(name)s?", number=number, name=target.display_name
        ),
        button=_("Re-assign the order"),
        back=url_for("admin_orders.show", order_id=order.id),
        facts=[
            (_("Now credited to"), f"{current.display_name} ({current.code})" if current else "—"),
            (_("Credit to"), f"{target.display_name} ({target.code})"),
            (_("Commission on the order now"), money(plan.earned, order.currency)),
            (_("Reason"), reason),
        ],
        consequences=[
            _(
                "Every commission on this order is reversed through the ledger; one already "
                "paid is carried as a negative amount into the next payout."
            ),
            _(
                "Commission is computed again for %(name)s and their upline with the current plan.",
                name=target.display_name,
            ),
        ],
    )


@admin.post("/orders/<int:order_id>/reassign")
def reassign_order(order_id: int) -> Response:
    order = overview.order(order_id) or abort(404)
    form = ReassignForm()
    if form.validate():
        try:
            if not confirm.confirmed():
                plan = reassign.preview(order, form.code.data, form.reason.data)
                return confirm.ask(_reassign_question(order, plan, form.reason.data))
            reassign.reassign(order.id, form.code.data, form.reason.data, current_user)
        except reassign.ReassignError as exc:
            attach_error(form, exc)
        else:
            flash(_("The order is re-assigned and its commission recomputed."), "success")
            return redirect(url_for("admin_orders.show", order_id=order.id))
    return _page(overview.order(order_id) or abort(404), form)
