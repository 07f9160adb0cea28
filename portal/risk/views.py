"""``/admin/risk``: the review queue, evidence side by side, release or reject in place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.accounts.access import staff_blueprint
from portal.errors import ServiceError
from portal.forms import error_text
from portal.pagination import paginate
from portal.rendering import decision_answer, render
from portal.risk import review
from portal.risk.forms import DecisionForm
from portal.risk.labels import RULE_LABELS
from portal.risk.models import FlagStatus

if TYPE_CHECKING:
    from portal.orders.models import Order

admin = staff_blueprint("admin_risk", __name__)


def _rows(orders: list[Order]) -> dict[str, Any]:
    return {**review.evidence(orders), "rule_labels": RULE_LABELS}


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
    order = review.order(order_id) or abort(404)
    return decision_answer(
        error,
        "admin/_risk_row.html",
        url_for("admin_risk.queue"),
        _("Decided."),
        o=order,
        **_rows([order]),
    )


@admin.post("/risk/batch")
def batch() -> Response:
    """The selected orders released, or rejected with one reason, in one batched run."""
    form = DecisionForm()
    action = request.form.get("action", "")
    if not form.validate() or action not in ("release", "reject"):
        abort(400)
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()][: review.BATCH]
    if not ids:
        flash(_("Select at least one order."), "error")
        return redirect(url_for("admin_risk.queue"))
    try:
        decided = review.decide_many(ids, current_user, action == "release", form.reason.data or "")
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin_risk.queue"))
    flash(ngettext("%(num)d order decided.", "%(num)d orders decided.", len(decided)), "success")
    if len(decided) < len(set(ids)):
        skipped = len(set(ids)) - len(decided)
        flash(
            ngettext(
                "%(num)d selected order was already decided.",
                "%(num)d selected orders were already decided.",
                skipped,
            ),
            "error",
        )
    return redirect(url_for("admin_risk.queue"))


@admin.post("/risk/<int:order_id>/release")
def release(order_id: int) -> Response:
    return _decide(order_id, True)


@admin.post("/risk/<int:order_id>/reject")
def reject(order_id: int) -> Response:
    if review.order(order_id) is None:
        abort(404)
    return _decide(order_id, False)
