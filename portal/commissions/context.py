"""The frozen commission context of an order, as JSON.

The plan, the upline chain and the rules in force when an order is first computed are
stored on the order. Later changes to that order (completion, refunds) are recomputed with
the same context: a plan change or a new upline never rewrites what an old order earns,
and the result does not depend on the order in which shop events arrive.

The plan (with its overrides, the bulk of a context) is stored once per distinct content as
a plan version (:class:`portal.commissions.models.PlanVersion`, found by :func:`digest`);
an order's context names its version. The chain and the rules are the order's own.
"""

from __future__ import annotations

import hashlib
import json
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
    """A plan as stored in a plan version (the renewal terms only when it pays renewals,
    so the versions of plans that do not keep their digests)."""
    data = {
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
    if plan.renewal_rate is not None:
        data["renewal"] = [str(plan.renewal_rate), plan.renewal_limit, plan.renewal_months]
    return data


def digest(plan: dict[str, Any]) -> str:
    """What identifies a plan version: the SHA-256 of the dumped plan's canonical JSON."""
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dump_chain(chain: list[e.Member]) -> list[dict[str, Any]]:
    """The chain part of a context (a batch shares one between orders with the same)."""
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
    plan_version: int,
    chain: list[dict[str, Any]],
    max_depth: int,
    self_purchase: e.SelfPurchase,
    currency: str,
) -> dict[str, Any]:
    """The context of one order: its plan version's id and :func:`dump_chain`'s chain."""
    return {
        "plan_version": plan_version,
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
        tuple(p.get("renewal") or ()),
    )


def load_plan(data: dict[str, Any]) -> e.Plan:
    """A plan version's plan as the engine's (immutable) Plan."""
    return _load_plan(_plan_key(data))


@lru_cache(maxsize=256)
def _load_plan(key: PlanKey) -> e.Plan:
    """Built once per distinct content: versions are shared by many orders, and the plan's
    override index is built once with it."""
    (
        role,
        max_depth,
        rates,
        basis,
        cap_percent,
        exclusions,
        network_sale_days,
        overrides,
        renewal,
    ) = key
    renewal_rate, renewal_limit, renewal_months = renewal or (None, None, None)
    return e.Plan(
        role=role,
        max_depth=max_depth,
        rates=tuple(Decimal(r) for r in rates),
        basis=e.Basis(basis),
        cap_percent=_undec(cap_percent),
        exclusions=frozenset(exclusions),
        network_sale_days=network_sale_days,
        renewal_rate=_undec(renewal_rate),
        renewal_limit=renewal_limit,
        renewal_months=renewal_months,
        overrides=tuple(
            e.Override(scope, target, depth, e.RateKind(kind), Decimal(value))
            for scope, target, depth, kind, value in overrides
        ),
    )


def load(data: dict[str, Any], evaluated_at: datetime) -> tuple[list[e.Member], e.Settings]:
    """The chain and the rules of a context (its plan is a version: :func:`load_plan`)."""
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
    return chain, settings
