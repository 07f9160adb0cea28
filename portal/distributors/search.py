"""The one code-or-name search for distributors (the admin list, the withdrawals queue,
a leader's team list)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from portal.distributors.models import Distributor
from portal.forms import like_escape


def code_or_name(search: str) -> ColumnElement[bool]:
    """Distributors whose referral code is ``search`` (any case) or whose display name
    contains it (``%`` and ``_`` match themselves). Each side has its index: the code's
    unique one, the name's trigram one on PostgreSQL."""
    return or_(
        Distributor.code == search.upper(),
        Distributor.display_name.ilike(f"%{like_escape(search)}%", escape="\\"),
    )
