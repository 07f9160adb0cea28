"""Recruitment pages (public), the distributor home (/me) and the approval queue (/admin)."""

from __future__ import annotations

import enum
from datetime import date
from typing import TypeVar

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal import confirm
from portal.accounts.access import staff_blueprint
from portal.accounts.services import AccountError
from portal.distributors import recruitment, services
from portal.distributors.forms import AdminAddForm, ApplicationForm, ReviewForm
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.errors import ServiceError
from portal.extensions import db
from portal.forms import attach_error, error_text
from portal.pagination import paginate
from portal.rendering import decision_answer, render

public = Blueprint("join", __name__)
admin = staff_blueprint("admin_distributors", __name__)
E = TypeVar("E", bound=enum.Enum)


def _applicant(form: ApplicationForm | AdminAddForm) -> services.Applicant:
    """From the public form: their password, the page's language and the terms they
    accepted; from staff's: an invitation follows instead."""
    public = isinstance(form, ApplicationForm)
    accepted = form["terms_version"].data if public and "terms_version" in form else None
    return services.Applicant(
        email=form.email.data,
        password=form.password.data if public else None,
        display_name=form.display_name.data,
        role=DistributorRole(form.role.data),
        note=form.note.data if public else None,
        locale=str(get_locale()) if public else None,
        terms_version=accepted or None,
    )


# --- public recruitment ---------------------------------------------------------------


def _application(inviter: Distributor | None) -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        flash(_("You are already signed in."), "info")
        return redirect(url_for("core.index"))
    if inviter is None:  # ?ref=<code>, else the cookie a short link set
        inviter = services.find_active(
            request.args.get("ref") or request.cookies.get(recruitment.REF_COOKIE) or ""
        )
    terms = recruitment.join_terms()
    form = ApplicationForm(terms_version=terms.version)
    if form.validate_on_submit():
        try:
            distributor = services.apply(_applicant(form), inviter)
        except AccountError as exc:
            attach_error(form, exc)
        else:
            login_user(distributor.user)
            if distributor.status is DistributorStatus.ACTIVE:
                flash(_("Welcome aboard! Your account is active."), "success")
            else:
                flash(_("Thanks! Your application is waiting for review."), "success")
            return redirect(url_for("me.home"))
    status = 400 if form.errors else 200
    return render_template("join/apply.html", form=form, inviter=inviter, terms=terms), status


@public.route("/join", methods=["GET", "POST"])
def apply() -> Response | tuple[str, int]:
    return _application(None)


@public.route("/join/<code>", methods=["GET", "POST"])
def invite(code: str) -> Response | tuple[str, int]:
    inviter = services.find_active(code)
    if inviter is None:
        return render_template("join/unknown_invite.html", code=code[:16]), 404
    return _application(inviter)


# --- admin: approval queue and adding distributors ------------------------------------


@admin.get("/distributors")
def distributor_list() -> Response:
    """Search and filters; unknown or malformed values are ignored, never an error."""
    args = request.args
    filters = services.ListFilter(
        status=_enum(DistributorStatus, args.get("status")),
        role=_enum(DistributorRole, args.get("role")),
        level_id=args.get("level", type=int),
        parent_code=(args.get("parent") or "").strip()[:8],
        joined_from=_date(args.get("joined_from")),
        joined_to=_date(args.get("joined_to")),
        search=(args.get("q") or "").strip()[:80],
    )
    return render(
        "admin/distributors.html",
        "admin/_distributor_table.html",
        page=services.distributors_page(filters),
        filters=filters,
        status=filters.status,
        statuses=list(DistributorStatus),
        roles=list(DistributorRole),
        levels=services.levels(),
    )


def _enum(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@admin.get("/distributors/applications")
def applications() -> Response:
    return render(
        "admin/applications.html",
        "admin/_application_table.html",
        page=paginate(services.applications_query()),
        review_form=ReviewForm(),
    )


def _reject_question(distributor: Distributor, reason: str | None) -> confirm.Confirmation:
    return confirm.Confirmation(
        question=_("Reject the application of %(name)s?", name=distributor.display_name),
        button=_("Reject the application"),
        back=url_for("admin_distributors.applications"),
        facts=[
            (_("Applicant"), f"{distributor.display_name} · {distributor.user.email}"),
            (_("Reason (shown to the applicant)"), reason or "—"),
        ],
        consequences=[
            _(
                "The applicant cannot become a distributor with this account: a rejection "
                "cannot be undone. They see the reason when they sign in."
            ),
        ],
    )


def _review(distributor_id: int, action: str) -> Response:
    form = ReviewForm()
    error: ServiceError | str | None = None
    if not form.validate():
        error = error_text(form)
    elif action == "reject" and not confirm.confirmed():
        applicant = db.get_or_404(Distributor, distributor_id)
        if applicant.status is DistributorStatus.APPLIED:
            return confirm.ask(_reject_question(applicant, form.reason.data))
    if error is None:
        try:
            if action == "approve":
                services.approve(distributor_id, current_user)
            else:
                services.reject(distributor_id, current_user, form.reason.data)
        except ServiceError as exc:
            error = exc
    distributor = db.get_or_404(Distributor, distributor_id)
    return decision_answer(
        error,
        "admin/_application_row.html",
        url_for("admin_distributors.applications"),
        _("%(name)s is now an active distributor.", name=distributor.display_name)
        if action == "approve"
        else _("The application of %(name)s was rejected.", name=distributor.display_name),
        "success" if action == "approve" else "info",
        d=distributor,
        review_form=ReviewForm(formdata=None),
    )


@admin.post("/distributors/<int:distributor_id>/approve")
def approve(distributor_id: int) -> Response:
    return _review(distributor_id, "approve")


@admin.post("/distributors/<int:distributor_id>/reject")
def reject(distributor_id: int) -> Response:
    return _review(distributor_id, "reject")


@admin.route("/distributors/new", methods=["GET", "POST"])
def add() -> Response | tuple[str, int]:
    form = AdminAddForm()
    form.level_id.choices = [SelectChoice("0", _("Entry level"))] + [
        SelectChoice(str(level.id), level.name) for level in services.levels()
    ]
    if form.validate_on_submit():
        parent = None
        if form.parent_code.data:
            parent = services.find_active(form.parent_code.data)
            if parent is None:
                form.parent_code.errors.append(_("No active distributor has this code."))
        if not form.errors:
            try:
                distributor = services.add_by_admin(
                    current_user, _applicant(form), form.level_id.data or None, parent
                )
            except AccountError as exc:
                attach_error(form, exc)
            else:
                flash(
                    _(
                        "%(name)s was added with code %(code)s and was emailed a link to "
                        "choose a password.",
                        name=distributor.display_name,
                        code=distributor.code,
                    ),
                    "success",
                )
                return redirect(url_for("admin_distributors.distributor_list"))
    status = 400 if form.errors else 200
    return render_template("admin/distributor_new.html", form=form), status
