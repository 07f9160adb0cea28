"""One distributor for ops: profile, team, money, ledger, audit trail, and the changes
ops make (status, level / role / upline, manual ledger adjustment — confirmed first, and
above the approval amount waiting for a second staff member)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from portal import confirm, periods
from portal.accounts.access import staff_blueprint
from portal.audit.models import AuditEntry
from portal.centre import figures, team
from portal.distributors import adjustments, approvals_admin, coupons, management, services, signals
from portal.distributors.labels import ROLE_LABELS, STATUS_LABELS
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.formatting import money
from portal.forms import Form, PlainDecimalField, attach_error, strip
from portal.ledger.models import Bucket, LedgerEntry
from portal.ledger.services import balances
from portal.orders.models import Order
from portal.pagination import paginate
from portal.rendering import render
from portal.risk.labels import RULE_LABELS
from portal.risk.models import RiskFlag
from portal.timeutil import utcnow

admin = staff_blueprint("admin_distributor", __name__)


class StatusForm(Form):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)], filters=[strip])


class ProfileForm(Form):
    level_id = SelectField(_l("Level"), coerce=int)
    role = SelectField(_l("Role"))
    parent_code = StringField(
        _l("Upline's referral code"),
        description=_l("Empty puts the distributor at the top of the tree."),
        validators=[Optional(), Length(max=8)],
        filters=[strip],
    )


class AdjustForm(Form):
    amount = PlainDecimalField(
        _l("Amount"),
        places=None,
        description=_l("Positive adds to the available balance, negative takes back."),
        validators=[InputRequired()],
    )
    reason = StringField(
        _l("Reason"),
        description=_l("The distributor sees it; it is kept in the audit log."),
        validators=[InputRequired(), Length(max=100)],
        filters=[strip],
    )


def _profile_form(distributor: Distributor, formdata: Any = None) -> ProfileForm:
    form = ProfileForm(formdata=formdata)
    form.level_id.choices = [SelectChoice("0", _("No level"))] + [
        SelectChoice(str(level.id), level.name) for level in services.levels()
    ]
    form.role.choices = [SelectChoice(r.value, str(ROLE_LABELS[r])) for r in DistributorRole]
    if formdata is None:
        form.level_id.data = distributor.level_id or 0
        form.role.data = distributor.role.value
        form.parent_code.data = distributor.parent.code if distributor.parent else ""
    return form


def _ledger_page(distributor_id: int) -> Any:
    return paginate(
        select(LedgerEntry)
        .where(LedgerEntry.distributor_id == distributor_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )


def _page(distributor: Distributor, **forms: Any) -> Response:
    now = utcnow()
    wanted = [periods.month_of(now), periods.last_days(30, now)]
    daily = figures.series(distributor.id, periods.covering(wanted))
    month, last30 = (daily.figures(p) for p in wanted)
    trail = list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target_type == "distributor")
            .where(AuditEntry.target_id == str(distributor.id))
            .order_by(AuditEntry.id.desc())
            .limit(20)
        )
    )
    flags = list(
        db.session.scalars(
            select(RiskFlag)
            .where(RiskFlag.distributor_id == distributor.id)
            .order_by(RiskFlag.id.desc())
            .limit(20)
        )
    )
    children = list(
        db.session.scalars(
            select(Distributor)
            .where(Distributor.parent_id == distributor.id)
            .order_by(Distributor.display_name)
            .limit(50)
        )
    )
    status = 400 if any(f.errors for f in forms.values()) else 200
    return render(
        "admin/distributor.html",
        "admin/distributor.html",
        http_status=status,
        d=distributor,
        balances=balances(distributor.id),
        buckets=Bucket,
        month=month,
        last30=last30,
        team_counts=team.counts(distributor.id),
        children=children,
        trail=trail,
        flags=flags,
        rule_labels=RULE_LABELS,
        ledger=_ledger_page(distributor.id),
        coupons=coupons.of(distributor.id),
        retry_form=Form(formdata=None),
        status_form=forms.get("status_form") or StatusForm(formdata=None),
        profile_form=forms.get("profile_form") or _profile_form(distributor),
        adjust_form=forms.get("adjust_form") or AdjustForm(formdata=None),
        waiting=list(
            db.session.scalars(
                adjustments.pending(distributor.id).options(*approvals_admin.ROW_OPTIONS).limit(20)
            )
        ),
        **approvals_admin.row_context(),
        orders=db.session.scalar(
            select(func.count(Order.id)).where(Order.distributor_id == distributor.id)
        ),
    )


@admin.get("/distributors/<int:distributor_id>")
def show(distributor_id: int) -> Response:
    return _page(db.get_or_404(Distributor, distributor_id))


@admin.get("/distributors/<int:distributor_id>/ledger")
def ledger(distributor_id: int) -> Response:
    distributor = db.get_or_404(Distributor, distributor_id)
    return render(
        "admin/distributor_ledger.html",
        "admin/_distributor_ledger.html",
        d=distributor,
        ledger=_ledger_page(distributor.id),
    )


def _done(distributor_id: int, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin_distributor.show", distributor_id=distributor_id))


@admin.post("/distributors/<int:distributor_id>/status")
def status(distributor_id: int) -> Response:
    distributor = db.get_or_404(Distributor, distributor_id)
    form = StatusForm()
    target = (
        DistributorStatus.ACTIVE
        if distributor.status is DistributorStatus.SUSPENDED
        else DistributorStatus.SUSPENDED
    )
    if form.validate():
        try:
            management.set_status(distributor.id, target, current_user, form.reason.data or "")
        except management.ManagementError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            done = _done(
                distributor.id,
                _(
                    "%(name)s: %(status)s.",
                    name=distributor.display_name,
                    status=STATUS_LABELS[target],
                ),
            )
            signals.coupons_changed.send(distributor.id)
            return done
    return _page(distributor, status_form=form)


@admin.post("/distributors/<int:distributor_id>/coupons/retry")
def retry_coupons(distributor_id: int) -> Response:
    """Send the coupons the shop has not applied to the shop again."""
    distributor = db.get_or_404(Distributor, distributor_id)
    if not Form().validate():
        abort(400)
    signals.coupons_changed.send(distributor.id)
    flash(_("The coupons were sent to the shop again."), "info")
    return redirect(url_for("admin_distributor.show", distributor_id=distributor.id) + "#coupons-h")


@admin.post("/distributors/<int:distributor_id>/profile")
def profile(distributor_id: int) -> Response:
    distributor = db.get_or_404(Distributor, distributor_id)
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
            db.session.rollback()
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
    distributor = db.get_or_404(Distributor, distributor_id)
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
            db.session.rollback()
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
