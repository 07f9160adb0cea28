"""The settings page (admin only; every change audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import admin_only, staff_blueprint
from portal.extensions import db
from portal.settings import services
from portal.settings.forms import SettingsForm

admin = staff_blueprint("admin_settings", __name__)


@admin.route("/settings", methods=["GET", "POST"])
@admin_only
def edit() -> Response | tuple[str, int]:
    form = SettingsForm(data=services.all_values())
    if form.validate_on_submit():
        changed = services.update(form.values(), current_user)
        db.session.commit()
        if changed:
            flash(_("Settings saved."), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("admin_settings.edit"))
    status = 400 if form.errors else 200
    return render_template("admin/settings.html", form=form), status
