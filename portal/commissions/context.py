"""The frozen commission context of an order, as JSON.

The plan, the upline chain and the rules in force when an order is first computed are
stored on the order. Later changes to that order (completion, refunds) are recomputed with
the same context: a plan change or a new upline never rewrites what an old order earns,
and the result does not depend on the order in which shop events arrive.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from portal.commissions import engine as e


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def dump_plan(plan: e.Plan) -> dict[str, Any]:
    """The plan part of a context. A batch dumps each plan once and shares the dict between
    its orders' contexts (nothing edits a stored context in place)."""
    return {
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
    }


def dump_chain(chain: list[e.Member]) -> list[dict[str, Any]]:
    """The chain part of a context (shared like the plan's, when orders have the same)."""
    return [
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
    ]


def dump(
    plan: dict[str, Any],
    chain: list[dict[str, Any]],
    max_depth: int,
    self_purchase: e.SelfPurchase,
    currency: str,
) -> dict[str, Any]:
    """The context of one order, from :func:`dump_plan` and :func:`dump_chain`."""
    return {
        "plan": plan,
        "chain": chain,
        "max_depth": max_depth,
        "self_purchase": self_purchase.value,
        "currency": currency,  # the shop currency when the order was first priced
    }


PlanKey = tuple[Any, ...]


def _plan_key(p: dict[str, Any]) -> PlanKey:
    return (
        p["role"],
        p["max_depth"],
        tuple(p["rates"]),
        p["basis"],
        p["cap_percent"],
        tuple(p["exclusions"]),
        p["network_sale_days"],
        tuple(tuple(o) for o in p["overrides"]),
    )


@lru_cache(maxsize=256)
def _load_plan(key: PlanKey) -> e.Plan:
    """A stored plan as the engine's (immutable) Plan, built once per distinct content: the
    orders of a batch mostly share one, and its override index is built once with it."""
    role, max_depth, rates, basis, cap_percent, exclusions, network_sale_days, overrides = key
    return e.Plan(
        role=role,
        max_depth=max_depth,
        rates=tuple(Decimal(r) for r in rates),
        basis=e.Basis(basis),
        cap_percent=_undec(cap_percent),
        exclusions=frozenset(exclusions),
        network_sale_days=network_sale_days,
        overrides=tuple(
            e.Override(scope, target, depth, e.RateKind(kind), Decimal(value))
            for scope, target, depth, kind, value in overrides
        ),
    )


def load(data: dict[str, Any], evaluated_at: datetime) -> tuple[e.Plan, list[e.Member], e.Settings]:
    plan = _load_plan(_plan_key(data["plan"]))
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
