"""``/admin/tokens``: API tokens — list, create (shown once), revoke. Admins only; every
change is audited."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import admin_only, staff_blueprint
from portal.api import services
from portal.api.forms import TokenForm
from portal.pagination import paginate
from portal.rendering import is_htmx, render

admin = staff_blueprint("admin_tokens", __name__)


def _page(partial: str, form: TokenForm, http_status: int = 200, **context: Any) -> Response:
    return render(
        "admin/tokens.html",
        partial,
        http_status=http_status,
        form=form,
        page=paginate(services.tokens()),
        **context,
    )


@admin.get("/tokens")
@admin_only
def index() -> Response:
    return _page("admin/_token_table.html", TokenForm(formdata=None))


@admin.post("/tokens")
@admin_only
def create() -> Response:
    form = TokenForm()
    if not form.validate():
        return _page("admin/_token_form.html", form, http_status=400)
    token = services.create_token(form.name.data, current_user)
    response = _page(
        "admin/_token_form.html",
        TokenForm(formdata=None),
        created=token,
        created_name=form.name.data,
        refresh_table=is_htmx(),  # the new row joins the list out of band
    )
    response.headers["Cache-Control"] = "no-store"  # the token is in this page, once
    return response


@admin.post("/tokens/<int:token_id>/revoke")
@admin_only
def revoke(token_id: int) -> Response:
    token = services.revoke_token(token_id, current_user)
    if token is None:
        abort(404)
    if is_htmx():
        return render("admin/tokens.html", "admin/_token_row.html", token=token)
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("admin_tokens.index"))
