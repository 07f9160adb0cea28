"""Page-number pagination shared by list views."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination

from portal.extensions import db


def paginate(query: Any) -> Pagination:
    """Paginate a ``select()`` with ``?page=`` (bad numbers fall back to page 1)."""
    return db.paginate(
        query,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PORTAL_PAGE_SIZE"],
        error_out=False,
        count=True,
    )
