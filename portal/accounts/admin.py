"""``/admin/staff``: admin and ops accounts — invite (the person chooses their password
from an emailed link), deactivate, reactivate. Admins only; every change is audited."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts import services
from portal.accounts.access import admin_only, staff_blueprint
from portal.accounts.forms import ConfirmForm, StaffInviteForm
from portal.accounts.models import Role
from portal.errors import NotFound
from portal.forms import attach_error
from portal.pagination import paginate
from portal.rendering import render

admin = staff_blueprint("admin_staff", __name__)


def _page(form: StaffInviteForm, http_status: int = 200, **context: Any) -> Response:
    return render(
        "admin/staff.html",
        "admin/_staff_table.html",
        http_status=http_status,
        form=form,
        page=paginate(services.staff_query()),
        **context,
    )


@admin.get("/staff")
@admin_only
def index() -> Response:
    return _page(StaffInviteForm(formdata=None))


@admin.post("/staff")
@admin_only
def invite() -> Response:
    form = StaffInviteForm()
    if form.validate():
        try:
            user = services.invite_staff(current_user, form.email.data, Role(form.role.data))
        except services.AccountError as exc:
            attach_error(form, exc)
        else:
            flash(_("%(email)s was emailed an invitation.", email=user.email), "success")
            return redirect(url_for(".index"))
    return _page(form, http_status=400)


def _set_active(user_id: int, active: bool) -> Response:
    if not ConfirmForm().validate():
        abort(400)
    try:
        user = services.set_active(current_user, user_id, active)
    except NotFound:
        abort(404)
    except services.AccountError as exc:
        flash(exc.message, "error")
    else:
        message = (
            _("%(email)s can sign in again.", email=user.email)
            if active
            else _("%(email)s is deactivated and signed out everywhere.", email=user.email)
        )
        flash(message, "success")
    return redirect(url_for(".index"))


@admin.post("/staff/<int:user_id>/deactivate")
@admin_only
def deactivate(user_id: int) -> Response:
    return _set_active(user_id, False)


@admin.post("/staff/<int:user_id>/reactivate")
@admin_only
def reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)
