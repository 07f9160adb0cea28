"""What the join page tells an applicant before they apply: the terms text (Admin →
Settings), each role's rates per level and depth as the engine resolves them, and the
return window."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from portal.commissions import plans
from portal.commissions import services as commissions
from portal.distributors.labels import ROLE_LABELS
from portal.distributors.models import DistributorRole
from portal.distributors.recruitment import terms_text, terms_version
from portal.markdown import render_markdown
from portal.settings import services as settings


@dataclass(frozen=True)
class RoleTerms:
    label: str
    rates: plans.RateTable


@dataclass(frozen=True)
class JoinTerms:
    """What the join page tells an applicant before they apply."""

    version: str | None  # None: no terms text, no checkbox
    text: Markup
    roles: list[RoleTerms]  # each role's rates per level and depth, as the engine resolves
    return_window_days: int


def join_terms() -> JoinTerms:
    text = terms_text()
    return JoinTerms(
        version=terms_version(text),
        text=render_markdown(text),
        roles=[
            RoleTerms(str(ROLE_LABELS[role]), plans.rate_table(commissions.plan_for(role.value)))
            for role in DistributorRole
        ],
        return_window_days=settings.get("return_window_days"),
    )
