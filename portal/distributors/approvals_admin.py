"""``/admin/adjustments``: manual adjustments waiting for a second staff member, and their
approval or rejection (each behind the confirm step; rows swap in place with htmx)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal import confirm
from portal.accounts.access import staff_blueprint
from portal.distributors import adjustments
from portal.distributors.forms import AdjustmentDecisionForm
from portal.distributors.labels import ADJUSTMENT_STATE_LABELS
from portal.distributors.models import AdjustmentRequest, AdjustmentState
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.formatting import money
from portal.forms import error_text
from portal.ledger.models import Bucket
from portal.ledger.services import balances
from portal.pagination import paginate
from portal.rendering import decision_answer, render

admin = staff_blueprint("admin_adjustments", __name__)

ROW_OPTIONS = (
    selectinload(AdjustmentRequest.distributor),
    selectinload(AdjustmentRequest.requested_by),
)


def row_context() -> dict[str, Any]:
    """What an adjustment row needs besides the request (the distributor page shares it)."""
    return {
        "adjustment_states": ADJUSTMENT_STATE_LABELS,
        "decision_form": AdjustmentDecisionForm(formdata=None),
    }


@admin.get("/adjustments")
def queue() -> Response:
    page = paginate(adjustments.pending().options(*ROW_OPTIONS))
    return render(
        "admin/adjustments.html", "admin/_adjustment_table.html", page=page, **row_context()
    )


def _question(request: AdjustmentRequest, action: str, note: str | None) -> confirm.Confirmation:
    amount = money(request.amount, request.currency)
    name = request.distributor.display_name
    available = balances(request.distributor_id)[Bucket.AVAILABLE]
    facts = [
        (_("Distributor"), f"{name} ({request.distributor.code})"),
        (_("Amount"), amount),
        (_("Reason"), request.reason),
        (_("Asked by"), request.requested_by.email),
        (_("Decided by"), current_user.email),
    ]
    if action == "approve":
        facts.insert(
            2,
            (
                _("Available balance"),
                f"{money(available, request.currency)} → "
                f"{money(available + request.amount, request.currency)}",
            ),
        )
        return confirm.Confirmation(
            question=_(
                "Approve the adjustment of %(amount)s for %(name)s?", amount=amount, name=name
            ),
            button=_("Approve and book"),
            back=url_for("admin_adjustments.queue"),
            facts=facts,
            consequences=[
                _("%(amount)s is booked into the available balance now.", amount=amount),
                _("Your approval is kept in the audit log beside the request."),
            ],
        )
    facts.append((_("Why it is rejected"), adjustments.clean_note(note)))
    return confirm.Confirmation(
        question=_("Reject the adjustment of %(amount)s for %(name)s?", amount=amount, name=name),
        button=_("Reject the adjustment"),
        back=url_for("admin_adjustments.queue"),
        facts=facts,
        consequences=[_("Nothing is booked; the rejection is kept in the audit log.")],
    )


def _decide(request_id: int, action: str) -> Response:
    form = AdjustmentDecisionForm()
    error: ServiceError | str | None = None
    try:
        request = adjustments.get(request_id)
    except NotFound:
        abort(404)
    if not form.validate():
        error = error_text(form)
    else:
        try:
            if action == "approve":
                adjustments.check_approver(request, current_user)
            if not confirm.confirmed() and request.state is AdjustmentState.PENDING:
                return confirm.ask(_question(request, action, form.note.data))
            if action == "approve":
                adjustments.approve(request_id, current_user)
            else:
                adjustments.reject(request_id, current_user, form.note.data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            error = exc
    request = db.session.get(AdjustmentRequest, request_id, populate_existing=True)
    return decision_answer(
        error,
        "admin/_adjustment_row.html",
        url_for("admin_adjustments.queue"),
        _(
            "Adjustment of %(amount)s: %(state)s.",
            amount=money(request.amount, request.currency),
            state=ADJUSTMENT_STATE_LABELS[request.state],
        ),
        a=request,
        **row_context(),
    )


@admin.post("/adjustments/<int:request_id>/approve")
def approve(request_id: int) -> Response:
    return _decide(request_id, "approve")


@admin.post("/adjustments/<int:request_id>/reject")
def reject(request_id: int) -> Response:
    return _decide(request_id, "reject")
