"""Editing plans, overrides and levels (audited), and trying rules before saving them:
the commission preview and the 90-day backtest."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import registry
from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions import context, engine, services
from portal.commissions.models import CommissionPlan, PlanExclusion, PlanOverride
from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.formatting import percent
from portal.orders import services as orders
from portal.orders.models import VOID_STATUSES, Order
from portal.settings import services as settings
from portal.timeutil import utcnow

ZERO = Decimal(0)
MAX_LINE_TOTAL = Decimal("100000000")
PLAN_FIELDS = (
    "max_depth",
    "rate_depth1",
    "rate_depth2",
    "rate_depth3",
    "basis",
    "cap_percent",
    "network_sale_days",
    "renewal_rate",
    "renewal_limit",
    "renewal_months",
)
OVERRIDE_FIELDS = ("scope", "target_id", "depth", "kind", "value")
LEVEL_FIELDS = ("name", "rank", "rate_depth1", "rate_depth2", "rate_depth3")


class PlanError(ServiceError):
    """A plan, level or rule that cannot be saved as given."""


def _snapshot(obj: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """JSON-safe view of some attributes, for audit entries."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = str(value) if isinstance(value, Decimal) else value
    return out


def _flush_unique(row: object, message: LazyString, field: str) -> None:
    """Add and flush ``row``; a unique-index clash becomes a field error.

    ``message`` is lazy: translating it reads the locale setting, which must not
    autoflush a half-built row before it is added.
    """
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise PlanError(str(message), field=field) from None


# --- plans ------------------------------------------------------------------------------


def plan_row(role: DistributorRole) -> CommissionPlan:
    """The stored plan of a role, created (earning nothing) on first use."""
    row = db.session.scalar(
        select(CommissionPlan)
        .options(selectinload(CommissionPlan.overrides), selectinload(CommissionPlan.exclusions))
        .where(CommissionPlan.role == role.value)
    )
    if row is None:
        row = CommissionPlan(
            role=role.value,
            max_depth=1,
            rate_depth1=ZERO,
            rate_depth2=ZERO,
            rate_depth3=ZERO,
            basis="product",
        )
        db.session.add(row)
        db.session.flush()
    return row


def save_plan(
    role: DistributorRole, values: dict[str, Any], exclusions: list[str], actor: User
) -> CommissionPlan:
    row = plan_row(role)
    before = {
        **_snapshot(row, PLAN_FIELDS),
        "exclusions": sorted(x.product_id for x in row.exclusions),
    }
    for name in PLAN_FIELDS:
        setattr(row, name, values[name])
    # Diff rather than replace: the unit of work inserts before it deletes orphans, which
    # would trip the (plan, product) unique constraint for products kept in the list.
    wanted = set(exclusions)
    row.exclusions = [x for x in row.exclusions if x.product_id in wanted] + [
        PlanExclusion(product_id=pid)
        for pid in sorted(wanted - {x.product_id for x in row.exclusions})
    ]
    after = {**_snapshot(row, PLAN_FIELDS), "exclusions": exclusions}
    if before != after:
        audit.record(actor, "plan.update", "plan", role.value, before, after)
        _touch(row)
    db.session.commit()
    return row


def proposed_plan(
    role: DistributorRole, values: dict[str, Any], exclusions: list[str]
) -> engine.Plan:
    """The engine plan the form describes, with the role's stored overrides (unsaved)."""
    row = plan_row(role)
    return engine.Plan(
        role=role.value,
        max_depth=values["max_depth"],
        rates=(values["rate_depth1"], values["rate_depth2"], values["rate_depth3"]),
        basis=engine.Basis(values["basis"]),
        cap_percent=values["cap_percent"],
        exclusions=frozenset(exclusions),
        network_sale_days=values["network_sale_days"],
        renewal_rate=values.get("renewal_rate"),
        renewal_limit=values.get("renewal_limit"),
        renewal_months=values.get("renewal_months"),
        overrides=tuple(
            engine.Override(o.scope, o.target_id, o.depth, engine.RateKind(o.kind), o.value)
            for o in row.overrides
        ),
    )


# --- which rate wins --------------------------------------------------------------------


RateSource = tuple[Decimal | None, bool]  # (percent, the level's own rate rather than the plan's)


@dataclass(frozen=True)
class LevelRates:
    """The percentage each depth pays a distributor of one level (``level_id`` ``None``:
    distributors without a level) where no override applies, as the engine resolves it."""

    name: str
    level_id: int | None
    members: int  # active distributors at this level, any role
    rates: tuple[RateSource, ...]  # per paid depth


@dataclass(frozen=True)
class RateTable:
    depths: int  # how many depths the plan pays (within the max-depth setting)
    rows: tuple[LevelRates, ...]
    overrides: tuple[int, ...]  # per paid depth: overrides that beat these rates (per product)


def _active_members() -> dict[tuple[int | None, str], int]:
    """Active distributors per (level id, role)."""
    rows = db.session.execute(
        select(Distributor.level_id, Distributor.role, func.count(Distributor.id))
        .where(Distributor.status == DistributorStatus.ACTIVE)
        .group_by(Distributor.level_id, Distributor.role)
    )
    return {(level_id, str(role)): n for level_id, role, n in rows}


def _rates_of(
    level: Level | None, plan: engine.Plan, depths: int
) -> list[tuple[Decimal | None, bool]]:
    own = (level.rate_depth1, level.rate_depth2, level.rate_depth3) if level else (None,) * 3
    member = engine.Member(distributor_id=0, role=plan.role, level_rates=own)
    resolved = [engine.level_or_plan_rate(member, depth, plan) for depth in range(1, depths + 1)]
    return [(rate, rule.startswith("level:")) for rate, rule in resolved]


def rate_table(plan: engine.Plan) -> RateTable:
    """For every level and for distributors without one: which rate each paid depth uses
    — the level's own or the plan's — straight from the engine's resolution."""
    depths = engine.paid_depth(plan, settings.get("max_depth"))
    members = _active_members()
    rows = [
        LevelRates(
            level.name,
            level.id,
            sum(n for (level_id, _role), n in members.items() if level_id == level.id),
            tuple(_rates_of(level, plan, depths)),
        )
        for level in distributors.levels()
    ]
    rows.append(
        LevelRates(
            _("No level"),
            None,
            sum(n for (level_id, _role), n in members.items() if level_id is None),
            tuple(_rates_of(None, plan, depths)),
        )
    )
    per_product = plan.basis is engine.Basis.PRODUCT
    overrides = tuple(
        sum(1 for o in plan.overrides if o.depth == depth) if per_product else 0
        for depth in range(1, depths + 1)
    )
    return RateTable(depths, tuple(rows), overrides)


def ineffective_changes(role: DistributorRole, proposed: engine.Plan) -> list[str]:
    """Warnings for the plan rates ``proposed`` changes that no order can feel: a depth
    the plan does not pay, or one where every active distributor who could earn it (the
    role's own at depth 1, anyone above) has a level with its own rate there."""
    current = services.plan_for(role.value)
    depths = engine.paid_depth(proposed, settings.get("max_depth"))
    members = _active_members()
    own_rates = {level.id: level for level in distributors.levels()}
    warnings = []
    for depth in range(1, engine.MAX_DEPTH + 1):
        old, new = current.rates[depth - 1], proposed.rates[depth - 1]
        if old == new:
            continue
        if depth > depths:
            warnings.append(
                ngettext(
                    "The depth-%(depth)d rate (%(old)s → %(new)s) changes no order: only "
                    "%(num)d depth is paid.",
                    "The depth-%(depth)d rate (%(old)s → %(new)s) changes no order: only "
                    "%(num)d depths are paid.",
                    depths,
                    depth=depth,
                    old=percent(old),
                    new=percent(new),
                )
            )
            continue
        uses_plan_rate = sum(
            n
            for (level_id, member_role), n in members.items()
            if (depth > 1 or member_role == role.value)
            and not _rates_of(own_rates.get(level_id), proposed, depth)[depth - 1][1]
        )
        if not uses_plan_rate:
            warnings.append(
                _(
                    "The depth-%(depth)d rate (%(old)s → %(new)s) changes no order: every "
                    "distributor who could earn it has a level with its own depth-%(depth)d "
                    "rate, which wins. Change the levels' rates instead.",
                    depth=depth,
                    old=percent(old),
                    new=percent(new),
                )
            )
    return warnings


# --- overrides --------------------------------------------------------------------------


def _touch(plan: CommissionPlan) -> None:
    """Mark the plan changed: a change of its overrides or exclusions alone would not
    update the row, and the cached estimates (:mod:`portal.commissions.estimates`) read
    ``updated_at`` to know the plan they hold is current."""
    plan.updated_at = utcnow()


def save_override(
    role: DistributorRole, values: dict[str, Any], actor: User, override_id: int | None = None
) -> PlanOverride:
    plan = plan_row(role)
    if override_id is None:
        override = PlanOverride(plan=plan)
        before = None
    else:
        override = db.session.get(PlanOverride, override_id)
        if override is None or override.plan_id != plan.id:
            raise NotFound(_("No such override."))
        before = _snapshot(override, OVERRIDE_FIELDS)
    for name in OVERRIDE_FIELDS:
        setattr(override, name, values[name])
    _flush_unique(
        override,
        _l("There is already an override for this product or category at this depth."),
        "target_id",
    )
    _touch(plan)
    audit.record(
        actor,
        "plan.override.save",
        "plan",
        role.value,
        before,
        _snapshot(override, OVERRIDE_FIELDS),
    )
    db.session.commit()
    return override


def delete_override(role: DistributorRole, override_id: int, actor: User) -> None:
    plan = plan_row(role)
    override = db.session.get(PlanOverride, override_id)
    if override is None or override.plan_id != plan.id:
        raise NotFound(_("No such override."))
    audit.record(
        actor,
        "plan.override.delete",
        "plan",
        role.value,
        _snapshot(override, OVERRIDE_FIELDS),
        None,
    )
    db.session.delete(override)
    _touch(plan)
    db.session.commit()


# --- levels -----------------------------------------------------------------------------


def save_level(values: dict[str, Any], actor: User, level_id: int | None = None) -> Level:
    level = Level() if level_id is None else db.session.get(Level, level_id)
    if level is None:
        raise NotFound(_("No such level."))
    before = None if level_id is None else _snapshot(level, LEVEL_FIELDS)
    for name in LEVEL_FIELDS:
        setattr(level, name, values[name])
    _flush_unique(level, _l("Another level already has this rank."), "rank")
    audit.record(actor, "level.save", "level", level.id, before, _snapshot(level, LEVEL_FIELDS))
    db.session.commit()
    return level


# --- preview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    result: engine.Result
    names: dict[int, str]
    plan: engine.Plan
    order_label: str


def parse_lines(text: str) -> list[engine.Line]:
    """``product, category, quantity, total`` per line (category may be empty)."""
    lines = []
    for number, raw in enumerate(text.strip().splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) != 4 or not parts[0]:
            raise PlanError(
                _("Line %(n)d: write product, category, quantity, total.", n=number), "lines"
            )
        try:
            qty, total = int(parts[2]), Decimal(parts[3])
            if not total.is_finite() or total > MAX_LINE_TOTAL:
                raise InvalidOperation
        except (ValueError, InvalidOperation):
            raise PlanError(
                _("Line %(n)d: quantity must be a whole number and total an amount.", n=number),
                "lines",
            ) from None
        if qty < 1 or total < 0:
            raise PlanError(
                _("Line %(n)d: quantity and total must be positive.", n=number), "lines"
            )
        lines.append(
            engine.Line(
                line_id=str(number),
                product_id=parts[0],
                qty=qty,
                total=total,
                category_ids=(parts[1],) if parts[1] else (),
            )
        )
    if not lines:
        raise PlanError(_("Give an order number or at least one line."), "lines")
    return lines


def preview(code: str, shop_order_id: str | None, lines_text: str | None) -> Preview:
    """What the engine would book for this distributor's chain under the saved plan."""
    distributor = distributors.find_by_code(code)
    if distributor is None:
        raise PlanError(_("No distributor has this code."), "code")
    now = utcnow()
    if shop_order_id:
        order = orders.find(registry.shop_kind(), shop_order_id)
        if order is None:
            raise PlanError(_("No stored order has this number."), "order")
        snapshot = services.snapshot(order)
        label = _("order %(n)s", n=order.number or order.shop_order_id)
    else:
        snapshot = engine.Order(
            order_id="preview",
            currency=settings.get("currency"),
            lines=tuple(parse_lines(lines_text or "")),
        )
        label = _("typed lines")
    plan = services.plan_for(distributor.role.value)
    chain = services.chain_for(services.upline(distributor), now)
    rules = engine.Settings(
        now=now,
        max_depth=settings.get("max_depth"),
        self_purchase=engine.SelfPurchase(settings.get("self_purchase")),
    )
    result = engine.compute(snapshot, chain, plan, rules)
    return Preview(result, _names([m.distributor_id for m in chain]), plan, label)


def _names(ids: list[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Distributor.id, Distributor.display_name, Distributor.code).where(
            Distributor.id.in_(ids)
        )
    )
    return {i: f"{name} ({code})" for i, name, code in rows}


# --- backtest ---------------------------------------------------------------------------


@dataclass
class Backtest:
    days: int
    orders: int = 0
    before: Decimal = ZERO
    after: Decimal = ZERO
    movers: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)

    @property
    def change(self) -> Decimal:
        return self.after - self.before


def backtest(
    role: DistributorRole,
    proposed: engine.Plan,
    days: int = 90,
    now: datetime | None = None,
    top: int = 10,
) -> Backtest:
    """Re-price the role's orders of the last ``days`` under ``proposed``; nothing is saved.

    "Before" is each order under the plan frozen on it (what it earns now); "after" swaps
    in the proposed plan with the same upline chain and rules.
    """
    now = now or utcnow()
    report = Backtest(days=days)
    per_beneficiary: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    query = (
        select(Order)
        .options(selectinload(Order.lines))
        .where(
            Order.created_at_shop >= now - timedelta(days=days),
            Order.commission_context.is_not(None),
        )
        .execution_options(yield_per=500)
    )
    versions: dict[int, engine.Plan] = {}
    for order in db.session.scalars(query):
        ctx = order.commission_context
        if ctx["plan_version"] not in versions:
            versions |= services.plan_versions([ctx["plan_version"]])
        frozen_plan = versions[ctx["plan_version"]]
        if frozen_plan.role != role.value or order.status in VOID_STATUSES:
            continue
        chain, rules = context.load(ctx, order.created_at_shop)
        snap = services.snapshot(order)
        old = engine.compute(snap, chain, frozen_plan, rules)
        new = engine.compute(snap, chain, proposed, rules)
        report.orders += 1
        for line in old.lines:
            per_beneficiary[line.beneficiary_id][0] += line.amount
            report.before += line.amount
        for line in new.lines:
            per_beneficiary[line.beneficiary_id][1] += line.amount
            report.after += line.amount
    ranked = sorted(per_beneficiary.items(), key=lambda kv: abs(kv[1][1] - kv[1][0]), reverse=True)
    ranked = [(i, v) for i, v in ranked if v[0] != v[1]][:top]
    names = _names([i for i, _ in ranked])
    report.movers = [(names.get(i, str(i)), before, after) for i, (before, after) in ranked]
    return report
