"""``/admin/risk``: the review queue, evidence side by side, release or reject in place."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal.accounts.access import staff_blueprint
from portal.commissions.models import Commission
from portal.distributors.models import Distributor
from portal.errors import ServiceError
from portal.extensions import db
from portal.forms import Form, error_text, strip
from portal.orders.models import Order
from portal.pagination import paginate
from portal.rendering import decision_answer, render
from portal.risk import review
from portal.risk.labels import RULE_LABELS
from portal.risk.models import FlagStatus

admin = staff_blueprint("admin_risk", __name__)


class DecisionForm(Form):
    reason = StringField(validators=[Optional(), Length(max=500)], filters=[strip])


def _rows(orders: list[Order]) -> dict[str, Any]:
    ids = [o.id for o in orders]
    sellers = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor)
            .options(selectinload(Distributor.user))
            .where(Distributor.id.in_({o.distributor_id for o in orders}))
        )
    }
    held: dict[int, list[Commission]] = {}
    for c in db.session.scalars(select(Commission).where(Commission.order_id.in_(ids))):
        held.setdefault(c.order_id, []).append(c)
    return {
        "flags": review.flags_for(ids),
        "sellers": sellers,
        "commissions": held,
        "rule_labels": RULE_LABELS,
    }


@admin.get("/risk")
def queue() -> Response:
    try:
        status = FlagStatus(request.args.get("status", FlagStatus.OPEN.value))
    except ValueError:
        status = FlagStatus.OPEN
    page = paginate(review.queue_query(status))
    return render(
        "admin/risk.html", "admin/_risk_table.html", page=page, status=status, **_rows(page.items)
    )


def _decide(order_id: int, release: bool) -> Response:
    form = DecisionForm()
    error: ServiceError | str | None = None
    if not form.validate():
        error = error_text(form)
    else:
        try:
            review.decide(order_id, current_user, release, form.reason.data or "")
        except ServiceError as exc:
            error = exc
    order = db.get_or_404(Order, order_id)
    return decision_answer(
        error,
        "admin/_risk_row.html",
        url_for("admin_risk.queue"),
        _("Decided."),
        o=order,
        **_rows([order]),
    )


@admin.post("/risk/<int:order_id>/release")
def release(order_id: int) -> Response:
    return _decide(order_id, True)


@admin.post("/risk/<int:order_id>/reject")
def reject(order_id: int) -> Response:
    if db.session.get(Order, order_id) is None:
        abort(404)
    return _decide(order_id, False)
