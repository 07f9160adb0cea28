"""The distributor's notification list (/me/notifications) and the nav badge."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import distributor_blueprint
from portal.distributors.current import current_distributor
from portal.extensions import db
from portal.notifications import services
from portal.notifications.forms import ReadAllForm, SettingsForm
from portal.pagination import paginate
from portal.rendering import is_htmx, render

me = distributor_blueprint("me_notifications", __name__)


@me.get("/notifications")
def index() -> Response:
    distributor = current_distributor()
    page = paginate(services.list_query(distributor.id))
    form = ReadAllForm(up_to=services.newest_id(distributor.id))
    return render(
        "me/notifications.html",
        "me/_notification_list.html",
        page=page,
        form=form,
        unread=services.unread_count(distributor.id),
        message=services.message,
        link=services.link,
    )


@me.post("/notifications/<int:notification_id>/read")
def read(notification_id: int) -> Response:
    distributor = current_distributor()
    notification = services.owned(distributor.id, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(distributor.id, notification_id)
    if not is_htmx():
        return redirect(url_for(".index"))
    db.session.refresh(notification)
    return render(
        "me/notifications.html",
        "me/_notification_read.html",
        n=notification,
        message=services.message,
        link=services.link,
        unread=services.unread_count(distributor.id),
    )


@me.post("/notifications/read")
def read_all() -> Response:
    distributor = current_distributor()
    form = ReadAllForm()
    if not form.validate_on_submit():
        abort(400)
    services.mark_read(distributor.id, up_to=int(form.up_to.data))
    return redirect(url_for(".index"))


@me.route("/notifications/settings", methods=["GET", "POST"])
def settings() -> Response:
    """The distributor's own notice settings: their sales, their team's sales."""
    distributor = current_distributor()
    form = SettingsForm(obj=distributor)
    if form.validate_on_submit():
        services.save_settings(
            distributor, bool(form.notify_commission.data), bool(form.notify_team_sale.data)
        )
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for(".settings"))
    return render(
        "me/notification_settings.html",
        "me/notification_settings.html",
        http_status=400 if form.is_submitted() else 200,
        form=form,
    )


def init_app(app: Flask) -> None:
    """``unread_notifications()`` for the distributor nav: a callable, so the count query
    runs only where base.html asks for it (the distributor branch, never staff pages)."""

    @app.context_processor
    def badge() -> dict[str, Any]:
        def unread_notifications() -> int:
            return services.unread_count_for_user(current_user.id)

        return {"unread_notifications": unread_notifications}
