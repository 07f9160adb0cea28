"""Recruitment modes (Admin → Settings → How people become distributors), the team a
newcomer joins and the terms they accept.

* ``apply``: applications at ``/join`` wait in the approval queue;
* ``open``: applications are approved at once;
* ``every_buyer`` (人人分销) and ``spend_threshold`` (满额分销): the periodic job in
  :mod:`portal.distributors.buyers` makes buyers distributors and emails them an
  invitation; ``/join`` still takes applications, for review.

Whichever way someone arrives they join the team of the distributor who brought them: the
invite link (``/join/<code>``), else ``?ref=<code>`` or the ref cookie a short link set,
else their running customer binding, else the distributor whose paid orders they bought
through (the latest).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.commissions import plans
from portal.commissions import services as commissions
from portal.distributors.labels import ROLE_LABELS
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.markdown import render_markdown
from portal.orders.models import CustomerBinding, Order
from portal.risk import qualifying
from portal.settings import services as settings
from portal.timeutil import utcnow

OPEN = "open"
BUYER_MODES = frozenset({"every_buyer", "spend_threshold"})

# Set by the short links (/r/<code>), so someone who later opens /join on the portal joins
# the team of the distributor whose link brought them.
REF_COOKIE = "portal_ref"
REF_COOKIE_DAYS = 30


def approves_at_once() -> bool:
    return settings.get("recruitment_mode") == OPEN


def remember_referrer(response: Response, code: str) -> None:
    response.set_cookie(
        REF_COOKIE, code, max_age=REF_COOKIE_DAYS * 86400, httponly=True, samesite="Lax"
    )


def uplines(emails: Collection[str]) -> dict[str, int]:
    """The active distributor each (normalised) email is bound to, where one is: its
    running customer binding, else the distributor of its latest paid order. Two queries
    whatever the number of emails."""
    if not emails:
        return {}
    active = Distributor.status == DistributorStatus.ACTIVE
    found: dict[str, int] = {}
    if settings.get("binding_days"):
        found.update(
            db.session.execute(
                select(CustomerBinding.customer_key, CustomerBinding.distributor_id)
                .join(Distributor, Distributor.id == CustomerBinding.distributor_id)
                .where(
                    CustomerBinding.kind == "email",
                    CustomerBinding.customer_key.in_(emails),
                    CustomerBinding.expires_at > utcnow(),
                    active,
                )
            ).all()
        )
    rest = set(emails) - found.keys()
    if rest:
        rows = db.session.execute(
            select(Order.customer_email, Order.distributor_id)
            .join(Distributor, Distributor.id == Order.distributor_id)
            .where(Order.customer_email.in_(rest), active, *qualifying.paid())
            .order_by(Order.created_at_shop, Order.id)
        )
        found.update((email, distributor_id) for email, distributor_id in rows)  # latest wins
    return found


# --- the terms shown on the join page --------------------------------------------------


def terms_text() -> str:
    return settings.get("recruitment_terms")


def terms_version(text: str | None = None) -> str | None:
    """The fingerprint stored with an acceptance (``None``: no terms to accept)."""
    text = terms_text() if text is None else text
    return hashlib.sha256(text.encode()).hexdigest() if text else None


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
