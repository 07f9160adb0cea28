"""The settings page (admin only) and the distributor terms page (admin and ops); every
change audited."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import admin_only, staff_blueprint
from portal.settings import services
from portal.settings.forms import SettingsForm, TermsForm

admin = staff_blueprint("admin_settings", __name__)


@admin.route("/settings", methods=["GET", "POST"])
@admin_only
def edit() -> Response | tuple[str, int]:
    return _save(SettingsForm(data=services.all_values()), "admin/settings.html", "edit")


@admin.route("/settings/terms", methods=["GET", "POST"])
def terms() -> Response | tuple[str, int]:
    """Ops word the terms too: what applicants accept is copy, not a business rule."""
    return _save(TermsForm(data=services.all_values()), "admin/terms.html", "terms")


def _save(
    form: SettingsForm | TermsForm, template: str, endpoint: str
) -> Response | tuple[str, int]:
    if form.validate_on_submit():
        changed = services.update(form.values(), current_user)
        if changed:
            flash(_("Settings saved."), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for(f"admin_settings.{endpoint}"))
    status = 400 if form.errors else 200
    return render_template(template, form=form), status
