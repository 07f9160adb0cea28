"""``/admin/audit``: browse and filter the audit log (admins only; read-only)."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from portal.accounts.access import admin_only, staff_blueprint
from portal.audit import services
from portal.audit.forms import AuditFilterForm
from portal.pagination import paginate
from portal.rendering import render

admin = staff_blueprint("admin_audit", __name__)

# Targets that have a page of their own: type → (endpoint, URL argument).
TARGET_PAGES = {
    "distributor": ("admin_distributor.show", "distributor_id"),
    "order": ("admin_orders.show", "order_id"),
}


@admin.get("/audit")
@admin_only
def index() -> Response:
    form = AuditFilterForm(formdata=request.args)
    valid = form.validate()
    page = paginate(services.entries(form.filters())) if valid else None
    return render(
        "admin/audit.html",
        "admin/_audit_table.html",
        http_status=200 if valid else 400,
        form=form,
        page=page,
        args=form.query_args() if valid else {},
        emails=services.emails(page.items) if page else {},
        changes=services.changes,
        action_names=services.action_names,  # the full page's suggestions only
        target_pages=TARGET_PAGES,
    )
