"""The commission engine: who earns what on one order. PURE — no Flask, no database.

Dataclasses in, dataclasses out, ``Decimal`` throughout, so the same function serves the
services that book money, the admin preview and the backtest (bench/commissions.py measures it).

Rules (the merchant-facing documentation of them lives in the admin preview):

* **One plan per order**: the plan of the attributed distributor's role (affiliate, group
  leader or agent) decides the enabled depth, the basis mode, overrides, exclusions and the
  cap. Each beneficiary's own *level* may carry its own rate per depth.
* **Rate resolution per order line and depth**: product override > category override >
  the beneficiary's level rate > the plan's rate. Overrides are a percentage of the line's
  net amount or a fixed amount per unit.
* **Basis modes** (按订单金额 / 按商品比例): ``order`` — the level/plan percentage of the
  order's eligible amount (overrides do not apply); ``product`` — per line, with overrides.
* **Net of refunds**: each line counts with its net amount (total − refunds); a refund
  not tied to a line is spread over the lines in proportion to their totals; fixed per-unit
  amounts shrink in the same proportion. A full refund therefore earns exactly nothing.
* **Exclusions**: excluded products earn nothing and do not count towards the basis.
* **Rounding**: each commission line (beneficiary × depth) is rounded once to the
  currency's minor unit, ROUND_HALF_UP. When the rounded total would exceed the cap
  (``cap_percent`` of the basis, rounded down), every line is scaled by the same factor and
  rounded down, so the sum never exceeds the cap.
* **Self purchase**: the order's customer being the attributed distributor (email or shop
  customer id) pays depth 1 nothing by default, uplines still earn (configurable).
* **Network requirement** (optional): an upline earns depth ≥ 2 commission only with an
  own sale in the last N days.
* Inactive (suspended) beneficiaries earn nothing at their depth; there is no compression.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import cached_property
from typing import NamedTuple

from portal.money import round_money

HUNDRED = Decimal(100)
ZERO = Decimal(0)
MAX_DEPTH = 3


class Basis(enum.StrEnum):
    ORDER = "order"
    PRODUCT = "product"


class SelfPurchase(enum.StrEnum):
    UPLINES_ONLY = "uplines_only"  # the buyer earns nothing, its uplines do
    EVERYONE = "everyone"
    NOBODY = "nobody"


class RateKind(enum.StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"  # an amount per unit


class ZeroReason(enum.StrEnum):
    SELF_PURCHASE = "self_purchase"
    INACTIVE = "inactive"
    NO_RECENT_SALE = "no_recent_sale"
    EXCLUDED = "excluded"
    NO_RATE = "no_rate"
    CAPPED = "capped"
    NOTHING_TO_EARN = "nothing_to_earn"


@dataclass(frozen=True)
class Line:
    line_id: str
    product_id: str
    qty: int
    total: Decimal  # after discounts, excl. tax and shipping
    category_ids: tuple[str, ...] = ()
    variation_id: str | None = None
    refunded_total: Decimal = ZERO  # positive amount refunded against this line


@dataclass(frozen=True)
class Order:
    order_id: str
    currency: str
    lines: tuple[Line, ...]
    refunded_unallocated: Decimal = ZERO  # positive; a refund not tied to a line
    customer_email: str | None = None
    customer_id: str | None = None


@dataclass(frozen=True)
class Member:
    """One beneficiary in the upline chain (index 0 = depth 1 = the attributed one)."""

    distributor_id: int
    role: str
    level_rates: tuple[Decimal | None, ...] = (None, None, None)  # percent per depth
    active: bool = True
    email: str | None = None
    shop_customer_id: str | None = None
    last_own_sale_at: datetime | None = None


@dataclass(frozen=True)
class Override:
    scope: str  # "product" | "category"
    target_id: str
    depth: int
    kind: RateKind
    value: Decimal

    @property
    def rule_id(self) -> str:
        return f"{self.scope}:{self.target_id}:d{self.depth}"


@dataclass(frozen=True)
class Plan:
    role: str
    max_depth: int
    rates: tuple[Decimal, ...]  # percent per depth 1..3
    basis: Basis = Basis.PRODUCT
    cap_percent: Decimal | None = None
    exclusions: frozenset[str] = frozenset()
    overrides: tuple[Override, ...] = ()
    network_sale_days: int | None = None
    # Subscription renewals (the shop's subscriptions): the rate the original order's
    # distributor earns on each renewal (None: renewals earn nothing), for how many
    # renewals and how many months after the original order (None: no limit).
    renewal_rate: Decimal | None = None
    renewal_limit: int | None = None
    renewal_months: int | None = None

    @cached_property
    def override_index(self) -> dict[tuple[str, str, int], tuple[RateKind, Decimal, str]]:
        """Overrides by (scope, id, depth), built once per plan object."""
        return {
            (o.scope, o.target_id, o.depth): (o.kind, o.value, o.rule_id) for o in self.overrides
        }


@dataclass(frozen=True)
class Settings:
    now: datetime
    max_depth: int = MAX_DEPTH
    self_purchase: SelfPurchase = SelfPurchase.UPLINES_ONLY


class Part(NamedTuple):
    """How one order line contributed to one commission line (for the preview).

    A named tuple, not a frozen dataclass: one is built per line and depth, and tuples are
    several times cheaper to create."""

    line_id: str
    product_id: str
    basis: Decimal
    kind: RateKind
    value: Decimal
    amount: Decimal  # unrounded
    rule_id: str


@dataclass(frozen=True)
class CommissionLine:
    beneficiary_id: int
    depth: int
    basis: Decimal
    rate: Decimal | None  # percent, when one percentage applied to the whole basis
    fixed: Decimal | None  # per unit, when one fixed amount applied
    amount: Decimal
    rule_id: str
    zero_reason: ZeroReason | None = None
    parts: tuple[Part, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Result:
    currency: str
    basis: Decimal  # eligible net amount of the order
    cap: Decimal | None
    lines: tuple[CommissionLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


def _net_lines(order: Order, exclusions: frozenset[str]) -> list[tuple[Line, Decimal, Decimal]]:
    """(line, net amount, net fraction) for every eligible line."""
    gross = sum((line.total for line in order.lines), ZERO)
    result = []
    for line in order.lines:
        if line.product_id in exclusions or line.total <= ZERO:
            continue
        share = order.refunded_unallocated * line.total / gross if gross else ZERO
        net = max(ZERO, line.total - line.refunded_total - share)
        result.append((line, net, net / line.total))
    return result


def _is_self_purchase(order: Order, member: Member) -> bool:
    email = (order.customer_email or "").strip().lower()
    if email and member.email and email == member.email.strip().lower():
        return True
    return bool(order.customer_id and member.shop_customer_id == order.customer_id)


def level_or_plan_rate(member: Member, depth: int, plan: Plan) -> tuple[Decimal | None, str]:
    """The percentage ``member`` earns at ``depth`` where no override applies, and its rule
    id: the member's level rate when the level sets one (``level:d<depth>``), else the
    plan's (``plan:<role>:d<depth>``). The plan editor reads its "which rate wins" table
    from here, so it cannot disagree with what orders are booked with."""
    level_rate = member.level_rates[depth - 1] if depth <= len(member.level_rates) else None
    if level_rate is not None:
        return level_rate, f"level:d{depth}"
    if depth <= len(plan.rates):
        return plan.rates[depth - 1], f"plan:{plan.role}:d{depth}"
    return None, ""


Resolved = tuple[RateKind, Decimal, str]


def _resolve(
    line: Line,
    depth: int,
    member: Member,
    plan: Plan,
    index: Mapping[tuple[str, str, int], Resolved],
) -> Resolved | None:
    override = index.get(("product", line.product_id, depth))
    if override is None and line.variation_id:
        override = index.get(("product", line.variation_id, depth))
    if override is None:
        for category in line.category_ids:
            override = index.get(("category", category, depth))
            if override is not None:
                break
    if override is not None:
        return override
    rate, rule = level_or_plan_rate(member, depth, plan)
    if rate is None:
        return None
    return RateKind.PERCENT, rate, rule


def _summarise(parts: list[Part]) -> tuple[Decimal | None, Decimal | None, str]:
    kinds = {(p.kind, p.value) for p in parts}
    rules = {p.rule_id for p in parts}
    rule = rules.pop() if len(rules) == 1 else "mixed"
    if len(kinds) == 1:
        kind, value = kinds.pop()
        return (value, None, rule) if kind is RateKind.PERCENT else (None, value, rule)
    return None, None, rule


def paid_depth(plan: Plan, settings_max_depth: int) -> int:
    """How many members of the upline chain earn: the plan's depth within the setting's."""
    return min(plan.max_depth, settings_max_depth, MAX_DEPTH)


def compute(order: Order, chain: Iterable[Member], plan: Plan, settings: Settings) -> Result:
    """Every commission line the order earns, depth 1 first."""
    members = list(chain)[: paid_depth(plan, settings.max_depth)]
    currency = order.currency
    eligible = _net_lines(order, plan.exclusions)
    basis = sum((net for _, net, _ in eligible), ZERO)
    index = plan.override_index
    buyer = members[0] if members else None

    raw: list[tuple[Member, int, Decimal, list[Part], ZeroReason | None]] = []
    for depth, member in enumerate(members, start=1):
        reason = _reason_for(order, member, buyer, depth, plan, settings)
        parts: list[Part] = []
        if plan.basis is Basis.ORDER:
            rate, rule = level_or_plan_rate(member, depth, plan)
            if rate is not None:
                parts.append(
                    Part("*", "*", basis, RateKind.PERCENT, rate, basis * rate / HUNDRED, rule)
                )
        else:
            for line, net, fraction in eligible:
                resolved = _resolve(line, depth, member, plan, index)
                if resolved is None:
                    continue
                kind, value, rule = resolved
                if kind is RateKind.PERCENT:
                    amount = net * value / HUNDRED
                else:
                    amount = value * line.qty * fraction
                parts.append(Part(line.line_id, line.product_id, net, kind, value, amount, rule))
        if reason is None and not parts:
            reason = ZeroReason.EXCLUDED if order.lines and not eligible else ZeroReason.NO_RATE
        total = sum((p.amount for p in parts), ZERO) if reason is None else ZERO
        raw.append((member, depth, total, parts, reason))

    cap = None
    if plan.cap_percent is not None:
        cap = round_money(basis * plan.cap_percent / HUNDRED, currency, ROUND_DOWN)
    amounts = [round_money(total, currency) for _, _, total, _, _ in raw]
    capped = cap is not None and sum(amounts, ZERO) > cap
    if capped:
        unrounded = sum((total for _, _, total, _, _ in raw), ZERO)
        factor = cap / unrounded if unrounded else ZERO
        amounts = [round_money(total * factor, currency, ROUND_DOWN) for _, _, total, _, _ in raw]

    lines = []
    for (member, depth, _total, parts, reason), amount in zip(raw, amounts, strict=True):
        rate, fixed, rule = _summarise(parts) if parts else (None, None, "none")
        if reason is None and amount == ZERO:
            reason = ZeroReason.CAPPED if capped else ZeroReason.NOTHING_TO_EARN
        lines.append(
            CommissionLine(
                beneficiary_id=member.distributor_id,
                depth=depth,
                basis=basis,
                rate=rate,
                fixed=fixed,
                amount=amount,
                rule_id=rule,
                zero_reason=reason,
                parts=tuple(parts),
            )
        )
    return Result(currency=currency, basis=basis, cap=cap, lines=tuple(lines))


def _reason_for(
    order: Order,
    member: Member,
    buyer: Member | None,
    depth: int,
    plan: Plan,
    settings: Settings,
) -> ZeroReason | None:
    if not member.active:
        return ZeroReason.INACTIVE
    if buyer is not None and _is_self_purchase(order, buyer):
        if settings.self_purchase is SelfPurchase.NOBODY:
            return ZeroReason.SELF_PURCHASE
        if settings.self_purchase is SelfPurchase.UPLINES_ONLY and depth == 1:
            return ZeroReason.SELF_PURCHASE
    if depth >= 2 and plan.network_sale_days is not None:
        since = settings.now - timedelta(days=plan.network_sale_days)
        if member.last_own_sale_at is None or member.last_own_sale_at < since:
            return ZeroReason.NO_RECENT_SALE
    return None


def for_renewal(
    plan: Plan, chain: Iterable[Member], number: int, months: int
) -> tuple[Plan, list[Member]]:
    """The plan and chain a subscription's ``number``-th renewal, ``months`` after the
    original order, is paid under: the plan's renewal rate on the order's goods, to the
    original order's distributor only (no team levels, no overrides, no level rates) — or
    nothing at all when the plan pays no renewals or this one is past its count or
    months."""
    ended = (
        plan.renewal_rate is None
        or (plan.renewal_limit is not None and number > plan.renewal_limit)
        or (plan.renewal_months is not None and months >= plan.renewal_months)
    )
    rate = ZERO if ended or plan.renewal_rate is None else plan.renewal_rate
    renewal = replace(
        plan,
        max_depth=1,
        rates=(rate, ZERO, ZERO),
        basis=Basis.ORDER,
        cap_percent=None,
        overrides=(),
    )
    return renewal, [replace(m, level_rates=(None, None, None)) for m in chain]
