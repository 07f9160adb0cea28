"""Freezing an order's commission context on its first run (plan version, chain, the
rules in force), and computing what an order earns under the context it froze."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.commissions import chains, context, engine, snapshots, versions
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.orders.models import Order


@dataclass
class BatchCache:
    """Per-batch lookups. Holding the rows here also keeps them in the session's (weak)
    identity map, so a batch loads each distributor, user and plan once."""

    distributors: list[Distributor]
    values: dict[str, Any]
    plans: dict[str, tuple[engine.Plan, int]]  # per role: the plan and its version's id
    chains: dict[int, list[Distributor]]
    # per attributed distributor, for plans without a network requirement (whose chain
    # does not depend on the order's date)
    dumped_chains: dict[int, list[dict[str, Any]]]


def freeze_contexts(orders: list[Order], cache: BatchCache) -> dict[int, dict[str, Any]]:
    """The contexts in force now for attributed orders (stored on first computation), by
    order id. The uplines' last own sales, which a plan with a network requirement freezes
    per order, are read for the whole batch at once."""
    picked = []
    for order in orders:
        if order.distributor_id is None:
            continue
        chain = cache.chains.get(order.distributor_id)
        if chain is None:
            distributor = db.session.get(Distributor, order.distributor_id)
            if distributor is None:
                continue
            chain = cache.chains[order.distributor_id] = chains.upline(distributor)
        role = chain[0].role.value
        if role not in cache.plans:
            plan = versions.plan_for(role)
            cache.plans[role] = plan, versions.plan_version(plan)
        picked.append((order, chain, *cache.plans[role]))
    last_sales = chains.last_own_sales_many(
        sorted(
            {
                (d.id, order.created_at_shop)
                for order, chain, plan, _ in picked
                if plan.network_sale_days is not None
                for d in chain
            }
        )
    )
    contexts = {}
    for order, chain, plan, version in picked:
        if plan.network_sale_days is not None:
            at = order.created_at_shop
            sales = {d.id: last_sales[(d.id, at)] for d in chain if (d.id, at) in last_sales}
            dumped_chain = context.dump_chain(chains.members(chain, sales))
        elif (dumped_chain := cache.dumped_chains.get(order.distributor_id)) is None:
            dumped_chain = context.dump_chain(chains.members(chain, {}))
            cache.dumped_chains[order.distributor_id] = dumped_chain
        contexts[order.id] = context.dump(
            version,
            dumped_chain,
            cache.values["max_depth"],
            engine.SelfPurchase(cache.values["self_purchase"]),
            cache.values["currency"],
        )
    return contexts


def compute(
    order: Order, lines: tuple[engine.Line, ...], plans: Mapping[int, engine.Plan]
) -> engine.Result | None:
    """What the order (with these lines) earns under its frozen context; ``plans`` holds
    its plan version (:func:`portal.commissions.versions.plan_versions`)."""
    ctx = order.commission_context
    if ctx is None:
        return None
    chain, rules = context.load(ctx, order.created_at_shop)
    plan = plans[ctx["plan_version"]]
    if order.attribution_method == "renewal" and order.attribution_evidence:
        evidence = order.attribution_evidence
        plan, chain = engine.for_renewal(
            plan, chain, int(evidence["renewal_number"]), int(evidence["renewal_months"])
        )
    return engine.compute(snapshots.snapshot(order, lines), chain, plan, rules)
