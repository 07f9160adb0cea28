"""One distributor for ops: profile, team, money, ledger, audit trail, and the changes
ops make (status, level / role / upline, manual ledger adjustment — confirmed first, and
above the approval amount waiting for a second staff member)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import confirm, transactions
from portal.accounts.access import staff_blueprint
from portal.console import distributor as overview
from portal.distributors import (
    adjustments,
    approvals_admin,
    management,
    services,
    signals,
)
from portal.distributors.forms import AdjustForm, ProfileForm, StatusForm
from portal.distributors.labels import STATUS_LABELS
from portal.distributors.models import Distributor, DistributorRole
from portal.formatting import money
from portal.forms import Form, attach_error
from portal.ledger.models import Bucket
from portal.ledger.services import balances
from portal.rendering import render
from portal.risk.labels import RULE_LABELS

admin = staff_blueprint("admin_distributor", __name__)


def _profile_form(distributor: Distributor, formdata: Any = None) -> ProfileForm:
    return ProfileForm.of(distributor, services.levels(), formdata)


def _page(distributor: Distributor, **forms: Any) -> Response:
    seen = overview.of(distributor)
    status = 400 if any(f.errors for f in forms.values()) else 200
    return render(
        "admin/distributor.html",
        "admin/distributor.html",
        http_status=status,
        d=distributor,
        balances=seen.balances,
        buckets=Bucket,
        month=seen.month,
        last30=seen.last30,
        team_counts=seen.team_counts,
        children=seen.children,
        trail=seen.trail,
        flags=seen.flags,
        rule_labels=RULE_LABELS,
        ledger=seen.ledger,
        coupons=seen.coupons,
        retry_form=Form(formdata=None),
        status_form=forms.get("status_form") or StatusForm(formdata=None),
        profile_form=forms.get("profile_form") or _profile_form(distributor),
        adjust_form=forms.get("adjust_form") or AdjustForm(formdata=None),
        waiting=seen.waiting,
        **approvals_admin.row_context(),
        orders=seen.orders,
    )


@admin.get("/distributors/<int:distributor_id>")
def show(distributor_id: int) -> Response:
    return _page(overview.distributor(distributor_id) or abort(404))


@admin.get("/distributors/<int:distributor_id>/ledger")
def ledger(distributor_id: int) -> Response:
    distributor = overview.distributor(distributor_id) or abort(404)
    return render(
        "admin/distributor_ledger.html",
        "admin/_distributor_ledger.html",
        d=distributor,
        ledger=overview.ledger_page(distributor.id),
    )


def _done(distributor_id: int, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("admin_distributor.show", distributor_id=distributor_id))


@admin.post("/distributors/<int:distributor_id>/status")
def status(distributor_id: int) -> Response:
    distributor = overview.distributor(distributor_id) or abort(404)
    form = StatusForm()
    if form.validate():
        try:
            target = management.toggle_status(distributor.id, current_user, form.reason.data or "")
        except management.ManagementError as exc:
            attach_error(form, exc)
        else:
            # The shop plugin reads the distributor's coupons once the change is committed.
            transactions.after_commit(lambda: signals.coupons_changed.send(distributor.id))
            return _done(
                distributor.id,
                _(
                    "%(name)s: %(status)s.",
                    name=distributor.display_name,
                    status=STATUS_LABELS[target],
                ),
            )
    return _page(distributor, status_form=form)


@admin.post("/distributors/<int:distributor_id>/coupons/retry")
def retry_coupons(distributor_id: int) -> Response:
    """Send the coupons the shop has not applied to the shop again."""
    distributor = overview.distributor(distributor_id) or abort(404)
    if not Form().validate():
        abort(400)
    signals.coupons_changed.send(distributor.id)
    flash(_("The coupons were sent to the shop again."), "info")
    return redirect(url_for("admin_distributor.show", distributor_id=distributor.id) + "#coupons-h")


@admin.post("/distributors/<int:distributor_id>/profile")
def profile(distributor_id: int) -> Response:
    distributor = overview.distributor(distributor_id) or abort(404)
    form = _profile_form(distributor, request.form)
    if form.validate():
        try:
            changed = management.change_profile(
                distributor.id,
                current_user,
                form.level_id.data or None,
                DistributorRole(form.role.data),
                form.parent_code.data or "",
            )
        except management.ManagementError as exc:
            attach_error(form, exc)
        else:
            message = _("Saved.") if changed else _("Nothing changed.")
            return _done(distributor.id, message)
    return _page(distributor, profile_form=form)


def _adjust_question(distributor: Distributor, plan: adjustments.Plan) -> confirm.Confirmation:
    amount = money(plan.amount, plan.currency)
    available = balances(distributor.id)[Bucket.AVAILABLE]
    after = money(available + plan.amount, plan.currency)
    if plan.needs_approval:
        consequences = [
            _(
                "Above %(threshold)s: it is not booked yet. It waits until another staff "
                "member approves it; you cannot approve it yourself.",
                threshold=money(plan.threshold, plan.currency),
            )
        ]
    else:
        consequences = [_("It is booked into the available balance now.")]
    consequences.append(_("The distributor sees the reason; it is kept in the audit log."))
    return confirm.Confirmation(
        question=_(
            "Adjust %(name)s's balance by %(amount)s?", name=distributor.display_name, amount=amount
        ),
        button=_("Ask for approval") if plan.needs_approval else _("Book adjustment"),
        back=url_for("admin_distributor.show", distributor_id=distributor.id),
        facts=[
            (_("Distributor"), f"{distributor.display_name} ({distributor.code})"),
            (_("Amount"), amount),
            (_("Available balance"), f"{money(available, plan.currency)} → {after}"),
            (_("Reason"), plan.reason),
            (_("By"), current_user.email),
        ],
        consequences=consequences,
    )


@admin.post("/distributors/<int:distributor_id>/adjust")
def adjust(distributor_id: int) -> Response:
    distributor = overview.distributor(distributor_id) or abort(404)
    form = AdjustForm()
    if form.validate():
        try:
            if not confirm.confirmed():
                plan = adjustments.check(form.amount.data, form.reason.data, current_user)
                return confirm.ask(_adjust_question(distributor, plan))
            waiting = adjustments.submit(
                distributor.id, form.amount.data, form.reason.data, current_user
            )
        except management.ManagementError as exc:
            attach_error(form, exc)
        else:
            if waiting is None:
                return _done(distributor.id, _("The adjustment is booked."))
            return _done(
                distributor.id,
                _(
                    "The adjustment of %(amount)s waits for a second staff member's approval.",
                    amount=money(waiting.amount, waiting.currency),
                ),
            )
    return _page(distributor, adjust_form=form)
