"""The frozen commission context of an order, as JSON.

The plan, the upline chain and the rules in force when an order is first computed are
stored on the order. Later changes to that order (completion, refunds) are recomputed with
the same context: a plan change or a new upline never rewrites what an old order earns,
and the result does not depend on the order in which shop events arrive.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from portal.commissions import engine as e


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def dump(
    plan: e.Plan,
    chain: list[e.Member],
    max_depth: int,
    self_purchase: e.SelfPurchase,
    currency: str,
) -> dict[str, Any]:
    return {
        "plan": {
            "role": plan.role,
            "max_depth": plan.max_depth,
            "rates": [str(r) for r in plan.rates],
            "basis": plan.basis.value,
            "cap_percent": _dec(plan.cap_percent),
            "exclusions": sorted(plan.exclusions),
            "network_sale_days": plan.network_sale_days,
            "overrides": [
                [o.scope, o.target_id, o.depth, o.kind.value, str(o.value)] for o in plan.overrides
            ],
        },
        "chain": [
            {
                "id": m.distributor_id,
                "role": m.role,
                "level_rates": [_dec(r) for r in m.level_rates],
                "active": m.active,
                "email": m.email,
                "shop_customer_id": m.shop_customer_id,
                "last_own_sale_at": m.last_own_sale_at.isoformat() if m.last_own_sale_at else None,
            }
            for m in chain
        ],
        "max_depth": max_depth,
        "self_purchase": self_purchase.value,
        "currency": currency,  # the shop currency when the order was first priced
    }


def load(data: dict[str, Any], evaluated_at: datetime) -> tuple[e.Plan, list[e.Member], e.Settings]:
    p = data["plan"]
    plan = e.Plan(
        role=p["role"],
        max_depth=p["max_depth"],
        rates=tuple(Decimal(r) for r in p["rates"]),
        basis=e.Basis(p["basis"]),
        cap_percent=_undec(p["cap_percent"]),
        exclusions=frozenset(p["exclusions"]),
        network_sale_days=p["network_sale_days"],
        overrides=tuple(
            e.Override(scope, target, depth, e.RateKind(kind), Decimal(value))
            for scope, target, depth, kind, value in p["overrides"]
        ),
    )
    chain = [
        e.Member(
            distributor_id=m["id"],
            role=m["role"],
            level_rates=tuple(_undec(r) for r in m["level_rates"]),
            active=m["active"],
            email=m["email"],
            shop_customer_id=m["shop_customer_id"],
            last_own_sale_at=datetime.fromisoformat(m["last_own_sale_at"])
            if m["last_own_sale_at"]
            else None,
        )
        for m in data["chain"]
    ]
    settings = e.Settings(
        now=evaluated_at,
        max_depth=data["max_depth"],
        self_purchase=e.SelfPurchase(data["self_purchase"]),
    )
    return plan, chain, settings
