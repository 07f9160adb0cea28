"""The distributor's notification list (/me/notifications) and the nav badge."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, redirect, url_for
from flask_login import current_user

from portal.accounts.access import distributor_blueprint
from portal.distributors.current import current_distributor
from portal.extensions import db
from portal.notifications import services
from portal.notifications.forms import ReadAllForm
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


def init_app(app: Flask) -> None:
    """``unread_notifications()`` for the distributor nav: a callable, so the count query
    runs only where base.html asks for it (the distributor branch, never staff pages)."""

    @app.context_processor
    def badge() -> dict[str, Any]:
        def unread_notifications() -> int:
            return services.unread_count_for_user(current_user.id)

        return {"unread_notifications": unread_notifications}
