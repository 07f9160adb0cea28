"""/admin/plans: commission plans per role, overrides (inline HTMX edit), levels, the
preview and the backtest. Changing rules is for admins; ops may look and try."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import admin_only, staff_blueprint
from portal.commissions import plans, services
from portal.commissions.forms import LevelForm, OverrideForm, PlanForm, PreviewForm
from portal.commissions.models import PlanOverride
from portal.distributors.models import DistributorRole, Level
from portal.distributors.services import levels
from portal.extensions import db
from portal.forms import attach_error
from portal.rendering import is_htmx, render

admin = staff_blueprint("admin_plans", __name__)


def _role(raw: str) -> DistributorRole:
    try:
        return DistributorRole(raw)
    except ValueError:
        abort(404)


def _plan_form(role: DistributorRole, formdata: Any = None) -> PlanForm:
    row = plans.plan_row(role)
    form = PlanForm(formdata=formdata, obj=row, prefix=role.value)
    if formdata is None:
        form.exclusions.data = " ".join(x.product_id for x in row.exclusions)
    return form


def _values(form: PlanForm | OverrideForm | LevelForm, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: form[name].data for name in names}


def _page(forms: dict[str, PlanForm] | None = None, status: int = 200) -> Response:
    forms = forms or {}
    cards = []
    for role in DistributorRole:
        cards.append(
            {
                "role": role,
                "form": forms.get(role.value) or _plan_form(role),
                "overrides": plans.plan_row(role).overrides,
                "override_form": OverrideForm(formdata=None, prefix=f"new-{role.value}"),
                "rates": plans.rate_table(services.plan_for(role.value)),
            }
        )
    db.session.commit()  # plan rows created on first view
    return render("admin/plans.html", "admin/plans.html", http_status=status, cards=cards)


@admin.get("/plans")
def index() -> Response:
    return _page()


@admin.post("/plans/<role>")
@admin_only
def save(role: str) -> Response:
    plan_role = _role(role)
    form = _plan_form(plan_role, request.form)
    if not form.validate():
        return _page({plan_role.value: form}, status=400)
    values, exclusions = _values(form, plans.PLAN_FIELDS), form.exclusion_ids()
    warnings = plans.ineffective_changes(
        plan_role, plans.proposed_plan(plan_role, values, exclusions)
    )
    plans.save_plan(plan_role, values, exclusions, current_user)
    flash(_("The plan was saved. New orders use it; existing orders keep theirs."), "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("admin_plans.index") + f"#plan-{plan_role.value}")


@admin.post("/plans/<role>/backtest")
def backtest(role: str) -> Response:
    plan_role = _role(role)
    form = _plan_form(plan_role, request.form)
    report, warnings, rates = None, [], None
    if form.validate():
        proposed = plans.proposed_plan(
            plan_role, _values(form, plans.PLAN_FIELDS), form.exclusion_ids()
        )
        report = plans.backtest(plan_role, proposed)
        warnings = plans.ineffective_changes(plan_role, proposed)
        rates = plans.rate_table(proposed)
    return render(
        "admin/backtest.html",
        "admin/_backtest.html",
        http_status=200 if report else 400,
        role=plan_role,
        report=report,
        warnings=warnings,
        rates=rates,
        form=form,
    )


# --- overrides ------------------------------------------------------------------------


def _override_table(
    role: DistributorRole, form: OverrideForm | None = None, status: int = 200
) -> Response:
    return render(
        "admin/overrides.html",
        "admin/_override_table.html",
        http_status=status,
        role=role,
        overrides=plans.plan_row(role).overrides,
        override_form=form or OverrideForm(formdata=None, prefix=f"new-{role.value}"),
    )


@admin.post("/plans/<role>/overrides")
@admin_only
def add_override(role: str) -> Response:
    plan_role = _role(role)
    form = OverrideForm(prefix=f"new-{plan_role.value}")
    if form.validate():
        values = _values(form, plans.OVERRIDE_FIELDS)
        try:
            plans.save_override(plan_role, values, current_user)
        except plans.PlanError as exc:
            attach_error(form, exc, "target_id")
        else:
            if not is_htmx():
                flash(_("Override added."), "success")
                return redirect(url_for("admin_plans.index") + f"#overrides-{plan_role.value}")
            return _override_table(plan_role)
    return _override_table(plan_role, form, status=400)


def _edit_row(
    role: DistributorRole, override: PlanOverride, form: OverrideForm, status: int = 200
) -> Response:
    return render(
        "admin/override_edit.html",
        "admin/_override_edit_row.html",
        http_status=status,
        role=role,
        o=override,
        form=form,
    )


def _override(role: DistributorRole, override_id: int) -> PlanOverride:
    override = db.session.get(PlanOverride, override_id)
    if override is None or override.plan.role != role.value:
        abort(404)
    return override


@admin.get("/plans/<role>/overrides/<int:override_id>/edit")
@admin_only
def edit_override(role: str, override_id: int) -> Response:
    plan_role = _role(role)
    override = _override(plan_role, override_id)
    return _edit_row(
        plan_role, override, OverrideForm(formdata=None, obj=override, prefix=f"o{override.id}")
    )


@admin.post("/plans/<role>/overrides/<int:override_id>")
@admin_only
def update_override(role: str, override_id: int) -> Response:
    plan_role = _role(role)
    override = _override(plan_role, override_id)
    form = OverrideForm(prefix=f"o{override.id}")
    if form.validate():
        values = _values(form, plans.OVERRIDE_FIELDS)
        try:
            override = plans.save_override(plan_role, values, current_user, override_id)
        except plans.PlanError as exc:
            attach_error(form, exc, "target_id")
            override = _override(plan_role, override_id)
        else:
            if not is_htmx():
                flash(_("Override saved."), "success")
                return redirect(url_for("admin_plans.index") + f"#overrides-{plan_role.value}")
            return render(
                "admin/_override_row.html", "admin/_override_row.html", role=plan_role, o=override
            )
    return _edit_row(plan_role, override, form, status=400)


@admin.get("/plans/<role>/overrides/<int:override_id>")
@admin_only
def show_override(role: str, override_id: int) -> Response:
    """The read-only row (what "Cancel" swaps back in)."""
    plan_role = _role(role)
    override = _override(plan_role, override_id)
    if not is_htmx():
        return redirect(url_for("admin_plans.index") + f"#overrides-{plan_role.value}")
    return render(
        "admin/_override_row.html", "admin/_override_row.html", role=plan_role, o=override
    )


@admin.post("/plans/<role>/overrides/<int:override_id>/delete")
@admin_only
def delete_override(role: str, override_id: int) -> Response:
    plan_role = _role(role)
    _override(plan_role, override_id)
    plans.delete_override(plan_role, override_id, current_user)
    if is_htmx():
        return _override_table(plan_role)
    flash(_("Override removed."), "info")
    return redirect(url_for("admin_plans.index") + f"#overrides-{plan_role.value}")


# --- levels ---------------------------------------------------------------------------


def _levels_page(
    forms: dict[int, LevelForm] | None = None, new: LevelForm | None = None, status: int = 200
) -> Response:
    forms = forms or {}
    rows = [
        (level, forms.get(level.id) or LevelForm(formdata=None, obj=level, prefix=f"l{level.id}"))
        for level in levels()
    ]
    return render(
        "admin/levels.html",
        "admin/levels.html",
        http_status=status,
        rows=rows,
        new=new or LevelForm(formdata=None, prefix="new"),
    )


@admin.get("/levels")
def level_list() -> Response:
    return _levels_page()


@admin.post("/levels")
@admin_only
def add_level() -> Response:
    form = LevelForm(prefix="new")
    if form.validate():
        try:
            plans.save_level(_values(form, plans.LEVEL_FIELDS), current_user)
        except plans.PlanError as exc:
            attach_error(form, exc, "name")
        else:
            flash(_("Level added."), "success")
            return redirect(url_for("admin_plans.level_list"))
    return _levels_page(new=form, status=400)


@admin.post("/levels/<int:level_id>")
@admin_only
def save_level(level_id: int) -> Response:
    level = db.get_or_404(Level, level_id)
    form = LevelForm(prefix=f"l{level.id}")
    if form.validate():
        try:
            plans.save_level(_values(form, plans.LEVEL_FIELDS), current_user, level_id)
        except plans.PlanError as exc:
            attach_error(form, exc, "name")
        else:
            flash(_("Level %(name)s saved.", name=form.name.data), "success")
            return redirect(url_for("admin_plans.level_list"))
    return _levels_page({level.id: form}, status=400)


# --- preview --------------------------------------------------------------------------


@admin.route("/plans/preview", methods=["GET", "POST"])
def preview() -> Response:
    form = PreviewForm()
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            result = plans.preview(form.code.data, form.order.data, form.lines.data)
        except plans.PlanError as exc:
            attach_error(form, exc, "code")
            status = 400
    elif form.is_submitted():
        status = 400
    return render(
        "admin/preview.html",
        "admin/_preview.html",
        http_status=status,
        form=form,
        preview=result,
    )
