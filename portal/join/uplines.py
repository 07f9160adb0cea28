"""The upline a newcomer joins under by their email when no link brought them: their
running customer binding, else the distributor of their latest paid order. Registered with
:data:`portal.distributors.recruitment.UPLINE_FINDERS` (distributors do not read orders)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from portal.distributors import recruitment
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.orders.models import CustomerBinding, Order
from portal.risk import qualifying
from portal.settings import services as settings
from portal.timeutil import utcnow


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


def install() -> None:
    """Recruitment finds uplines here (idempotent)."""
    if uplines not in recruitment.UPLINE_FINDERS:
        recruitment.UPLINE_FINDERS.append(uplines)
