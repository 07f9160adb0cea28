"""Factories for what many tests build: commission plans, upline chains, orders.

Plain functions. :func:`add_plan` and :func:`book` use the current app context (open one
with ``app.app_context()``) and commit; :func:`chain` goes through the ``make_distributor``
fixture; :func:`order` only builds the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal as D
from typing import Any

from portal.commissions import services as commissions
from portal.commissions.models import CommissionPlan
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData


def add_plan(*rates: str, role: str = "affiliate", **columns: Any) -> CommissionPlan:
    """The plan of ``role`` paying ``rates[0]`` % at depth 1, ``rates[1]`` % at depth 2, …
    (as many levels as rates). ``columns``: any other column or relationship
    (``basis``, ``cap_percent``, ``overrides``, …). Committed."""
    assert 1 <= len(rates) <= 3, "a plan pays 1 to 3 levels"
    plan = CommissionPlan(
        role=role,
        max_depth=len(rates),
        **{f"rate_depth{depth}": D(rate) for depth, rate in enumerate(rates, 1)},
        **columns,
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def chain(
    make_distributor: Callable[..., tuple[int, str]],
    *emails: str,
    names: Sequence[str] = (),
) -> list[int]:
    """Active distributors, each the child of the one before (the first has no parent);
    their ids in the same order, top first. ``names``: their display names."""
    ids: list[int] = []
    for n, email in enumerate(emails):
        name = {"name": names[n]} if names else {}
        distributor_id, _code = make_distributor(email, parent_id=ids[-1] if ids else None, **name)
        ids.append(distributor_id)
    return ids


def order(
    seller: int | None,
    shop_order_id: str,
    total: str = "100.00",
    *,
    at: datetime,
    status: str = "processing",
    refunded: str = "0",
    method: str = "coupon",
    evidence: dict[str, Any] | None = None,
    **fields: Any,
) -> OrderData:
    """An order in USD of one line (product P1, one unit, ``total``) made at ``at`` and
    credited to ``seller`` (``None``: to nobody); a completed one completed at ``at``.
    ``fields``: any other :class:`OrderData` field (``lines``, ``customer_email``, …)."""
    values: dict[str, Any] = {
        "shop_order_id": shop_order_id,
        "status": status,
        "currency": "USD",
        "created_at": at,
        "modified_at": at,
        "completed_at": at if status == "completed" else None,
        "lines": (LineData("1", "P1", 1, D(total), refunded_total=D(refunded)),),
        "attribution": (
            Attribution(seller, method, {"matched": "X"} if evidence is None else evidence)
            if seller is not None
            else None
        ),
    }
    values.update(fields)
    return OrderData(**values)


def book(data: OrderData, now: datetime | None = None) -> int:
    """Store the order and run its commissions as of ``now`` (default: when it was
    made); its id."""
    stored = orders.store_order(data)
    commissions.apply_order(stored.order_id, now or data.created_at)
    return stored.order_id
