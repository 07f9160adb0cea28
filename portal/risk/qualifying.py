"""The one definition of a **qualifying order**: the orders that count for incentives —
campaigns, level upgrades, leaderboards and the figures that feed them — and the
"qualifying" columns of the reports beside "all attributed".

An order qualifies when it is attributed to a distributor, **paid** (a status the shop
counts as paid: ``processing`` or ``completed``; the merchant's custom paid statuses are
stored as ``processing``), **not held or refused by risk** (no open or rejected flag, no
commission of it on review) and **worth something net of refunds** (its goods after
refunds above zero; sales sum those net goods). Unpaid (``pending``, ``on-hold``), void
and fully refunded orders, self-purchases and other orders risk review holds or rejects
never qualify; an order released in review qualifies from then on.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, select

from portal.commissions.models import Commission, CommissionState
from portal.orders.models import Order
from portal.risk.models import FlagStatus, RiskFlag

PAID_STATUSES = frozenset({"processing", "completed"})


def paid() -> tuple[ColumnElement[bool], ...]:
    """WHERE conditions on :class:`Order` for orders paid and worth something net of
    refunds, whoever brought them (recruiting buyers counts these)."""
    return (Order.status.in_(PAID_STATUSES), Order.net_total > 0)


def conditions() -> tuple[ColumnElement[bool], ...]:
    """WHERE conditions on :class:`Order` for qualifying orders."""
    held = exists(
        select(RiskFlag.id).where(
            RiskFlag.order_id == Order.id,
            RiskFlag.status.in_([FlagStatus.OPEN, FlagStatus.REJECTED]),
        )
    )
    on_review = exists(
        select(Commission.id).where(
            Commission.order_id == Order.id, Commission.state == CommissionState.ON_REVIEW
        )
    )
    return (
        Order.distributor_id.is_not(None),
        *paid(),
        ~held,
        ~on_review,
    )


def qualifies() -> ColumnElement[bool]:
    """:func:`conditions` as one expression (for ``FILTER`` / ``CASE`` in reports)."""
    return and_(*conditions())
