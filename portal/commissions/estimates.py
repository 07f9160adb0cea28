"""What a distributor would earn on a product, and their rates: the "earn ¥4.55" on the
Share page and the rates card on the dashboard.

Every figure is :func:`portal.commissions.engine.compute` run on a one-unit order of the
product at its catalogue price — the same engine, plan and level rates that book real
orders, never a second formula. At depth 1 the distributor sells it themself; at depth
``d`` a member of their team ``d - 1`` levels down sells it, and the chain below them is
members of the same role without a level (whose level never changes what an upline earns;
only a cap that scales every line could). Estimates assume what the engine would check
at the time of sale is met: an active distributor, a buyer who is not themself, and (for
a plan with the network rule) an own sale of theirs in time.

Loading a plan reads its overrides, which can be thousands; a product list asks for
twenty estimates a page. So the engine's plan is kept per process by the plan row's
``updated_at`` (every change to a plan, its overrides or exclusions bumps it: one
indexed read tells whether the kept one is current) and the estimates per plan version
(the digest of the plan's content, as orders freeze it), level rates and product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from sqlalchemy import select

from portal.catalogue.models import Product
from portal.commissions import context, engine, services
from portal.commissions.models import CommissionPlan
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.settings import services as settings
from portal.timeutil import utcnow

ZERO = Decimal(0)
_PLANS: dict[tuple[str, datetime | None], tuple[engine.Plan, str]] = {}
_PLANS_KEPT = 32  # roles × recent versions; older entries are dropped


@dataclass(frozen=True)
class Estimate:
    """What one unit of a product earns the distributor: ``amounts[0]`` when they sell
    it, ``amounts[d - 1]`` when a team member ``d - 1`` levels below them does."""

    amounts: tuple[Decimal, ...]

    @property
    def own(self) -> Decimal:
        return self.amounts[0]


@dataclass(frozen=True)
class Rates:
    """The distributor's percentage per paid depth where no override applies (as the
    engine resolves it: their level's rate, else the plan's), for the dashboard."""

    rates: tuple[Decimal | None, ...]
    overrides: int  # product/category overrides that may pay otherwise
    basis: engine.Basis
    network_sale_days: int | None
    return_window_days: int


def _current_plan(role: str) -> tuple[engine.Plan, str]:
    """The role's engine plan and its version digest, rebuilt only when the plan changed."""
    stamp = db.session.scalar(select(CommissionPlan.updated_at).where(CommissionPlan.role == role))
    key = (role, stamp)
    found = _PLANS.get(key)
    if found is None:
        plan = services.plan_for(role)
        found = (plan, context.digest(context.dump_plan(plan)))
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        _PLANS[key] = found
    return found


def _level_rates(distributor: Distributor) -> tuple[Decimal | None, ...]:
    level = distributor.level
    if level is None:
        return (None, None, None)
    return (level.rate_depth1, level.rate_depth2, level.rate_depth3)


def _price(text: str | None) -> Decimal | None:
    try:
        price = Decimal(text or "")
    except InvalidOperation:
        return None
    return price if price.is_finite() and price > ZERO else None


class _Item(NamedTuple):
    product_id: str
    price: Decimal
    category_ids: tuple[str, ...]


_Key = tuple[str, tuple[Decimal | None, ...], int, str, _Item]
_ESTIMATES: dict[_Key, Estimate] = {}
_ESTIMATES_KEPT = 50_000  # a 10,000-product catalogue under a few plan versions and levels


def _compute(
    plan: engine.Plan,
    level_rates: tuple[Decimal | None, ...],
    max_depth: int,
    currency: str,
    item: _Item,
) -> Estimate:
    """The engine on a one-unit order of ``item``, once per depth the plan pays."""
    now = utcnow()
    rules = engine.Settings(now=now, max_depth=max_depth)
    line = engine.Line(
        line_id="1",
        product_id=item.product_id,
        qty=1,
        total=item.price,
        category_ids=item.category_ids,
    )
    order = engine.Order(order_id="estimate", currency=currency, lines=(line,))
    me = engine.Member(0, plan.role, level_rates=level_rates, last_own_sale_at=now)
    amounts = []
    for depth in range(1, engine.paid_depth(plan, max_depth) + 1):
        below = [engine.Member(-n, plan.role) for n in range(depth - 1, 0, -1)]
        result = engine.compute(order, [*below, me], plan, rules)
        amounts.append(result.lines[depth - 1].amount)
    return Estimate(tuple(amounts))


class Estimator:
    """Estimates for one distributor during one request (reads the plan stamp once)."""

    def __init__(self, distributor: Distributor) -> None:
        self.role = distributor.role.value
        self.plan, self.digest = _current_plan(self.role)
        self.level_rates = _level_rates(distributor)
        self.max_depth: int = settings.get("max_depth")
        self.currency: str = settings.get("currency")

    def product(self, product: Product) -> Estimate | None:
        """``None`` when the catalogue has no usable price for it."""
        price = _price(product.price)
        if price is None:
            return None
        item = _Item(product.product_id, price, tuple(product.category_ids or ()))
        key = (self.digest, self.level_rates, self.max_depth, self.currency, item)
        found = _ESTIMATES.get(key)
        if found is None:
            found = _compute(self.plan, self.level_rates, self.max_depth, self.currency, item)
            if len(_ESTIMATES) >= _ESTIMATES_KEPT:
                _ESTIMATES.clear()
            _ESTIMATES[key] = found
        return found

    def products(self, products: Sequence[Product]) -> dict[str, Estimate]:
        found = {}
        for product in products:
            estimate = self.product(product)
            if estimate is not None:
                found[product.product_id] = estimate
        return found

    def rates(self) -> Rates:
        member = engine.Member(0, self.role, level_rates=self.level_rates)
        depths = engine.paid_depth(self.plan, self.max_depth)
        return Rates(
            rates=tuple(
                engine.level_or_plan_rate(member, depth, self.plan)[0]
                for depth in range(1, depths + 1)
            ),
            overrides=len(self.plan.overrides) if self.plan.basis is engine.Basis.PRODUCT else 0,
            basis=self.plan.basis,
            network_sale_days=self.plan.network_sale_days,
            return_window_days=settings.get("return_window_days"),
        )
