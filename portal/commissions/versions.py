"""The plan in force for a role, and the immutable versions orders freeze it as."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal import bulk
from portal.commissions import context, engine
from portal.commissions.models import CommissionPlan, PlanVersion
from portal.extensions import db
from portal.timeutil import utcnow

ZERO = Decimal(0)


def plan_for(role: str) -> engine.Plan:
    """The stored plan for a role; a role without one earns nothing (rates 0)."""
    row = db.session.scalar(select(CommissionPlan).where(CommissionPlan.role == role))
    if row is None:
        return engine.Plan(role=role, max_depth=1, rates=(ZERO, ZERO, ZERO))
    return engine.Plan(
        role=row.role,
        max_depth=row.max_depth,
        rates=(row.rate_depth1, row.rate_depth2, row.rate_depth3),
        basis=engine.Basis(row.basis),
        cap_percent=row.cap_percent,
        exclusions=frozenset(x.product_id for x in row.exclusions),
        network_sale_days=row.network_sale_days,
        renewal_rate=row.renewal_rate,
        renewal_limit=row.renewal_limit,
        renewal_months=row.renewal_months,
        overrides=tuple(
            engine.Override(o.scope, o.target_id, o.depth, engine.RateKind(o.kind), o.value)
            for o in row.overrides
        ),
    )


def plan_version(plan: engine.Plan) -> int:
    """The id of the version holding this plan's content, created on first use."""
    data = context.dump_plan(plan)
    digest = context.digest(data)
    found = db.session.scalar(select(PlanVersion.id).where(PlanVersion.digest == digest))
    if found is None:
        # Runs freezing the same new plan at once: the INSERT that loses the race does
        # nothing (on PostgreSQL after the winner commits), then reads the winner's row.
        dialect = postgresql if bulk.on_postgresql() else sqlite
        statement = dialect.insert(PlanVersion).values(
            digest=digest, plan=data, created_at=utcnow()
        )
        db.session.execute(statement.on_conflict_do_nothing(index_elements=["digest"]))
        found = db.session.scalar(select(PlanVersion.id).where(PlanVersion.digest == digest))
    assert found is not None
    return found


def plan_versions(ids: list[int]) -> dict[int, engine.Plan]:
    """Stored plan versions by id, as the engine's plans (one query)."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(PlanVersion.id, PlanVersion.plan).where(bulk.among(PlanVersion.id, ids))
    )
    return {version: context.load_plan(data) for version, data in rows}
