"""``/admin/orders``: find an order, see who earns what on it and why, re-assign it."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from portal import confirm
from portal.accounts.access import staff_blueprint
from portal.commissions.models import Commission
from portal.commissions.reassign import ReassignError, new_distributor, reassign
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.forms import Form, attach_error, strip
from portal.orders.models import Order
from portal.pagination import paginate
from portal.rendering import render
from portal.risk.review import flags_for

admin = staff_blueprint("admin_orders", __name__)


class ReassignForm(Form):
    code = StringField(
        _l("Credit to (referral code)"),
        validators=[InputRequired(), Length(max=8)],
        filters=[strip],
    )
    reason = StringField(
        _l("Reason"), validators=[InputRequired(), Length(max=300)], filters=[strip]
    )


@admin.get("/orders")
def index() -> Response:
    search = (request.args.get("q") or "").strip()[:64]
    query = select(Order).order_by(Order.created_at_shop.desc(), Order.id.desc())
    if search:
        query = query.where(or_(Order.number == search, Order.shop_order_id == search))
    page = paginate(query)
    names = dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(
                Distributor.id.in_({o.distributor_id for o in page.items})
            )
        ).all()
    )
    return render("admin/orders.html", "admin/_order_table.html", page=page, q=search, names=names)


def _page(order: Order, form: ReassignForm) -> Response:
    lines = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.order_id == order.id)
            .order_by(Commission.depth, Commission.id)
        )
    )
    people = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor).where(
                Distributor.id.in_({c.beneficiary_id for c in lines} | {order.distributor_id})
            )
        )
    }
    return render(
        "admin/order.html",
        "admin/order.html",
        http_status=400 if form.errors else 200,
        o=order,
        commissions=lines,
        people=people,
        flags=flags_for([order.id]).get(order.id, []),
        form=form,
    )


@admin.get("/orders/<int:order_id>")
def show(order_id: int) -> Response:
    order = db.get_or_404(Order, order_id, options=[selectinload(Order.lines)])
    return _page(order, ReassignForm(formdata=None))


def _reassign_question(order: Order, target: Distributor, reason: str) -> confirm.Confirmation:
    current = db.session.get(Distributor, order.distributor_id) if order.distributor_id else None
    earned = db.session.scalar(
        select(func.coalesce(func.sum(Commission.amount), 0)).where(Commission.order_id == order.id)
    )
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
            (_("Commission on the order now"), money(earned, order.currency)),
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
    order = db.get_or_404(Order, order_id)
    form = ReassignForm()
    if form.validate():
        try:
            if not confirm.confirmed():
                target = new_distributor(order, form.code.data, form.reason.data)
                return confirm.ask(_reassign_question(order, target, form.reason.data))
            reassign(order.id, form.code.data, form.reason.data, current_user)
        except ReassignError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            flash(_("The order is re-assigned and its commission recomputed."), "success")
            return redirect(url_for("admin_orders.show", order_id=order.id))
    return _page(db.session.get(Order, order_id), form)
