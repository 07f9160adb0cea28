"""commission plan versions, fewer indexes on commissions, ledger entries and orders

Revision ID: 7512e26bf1a0
Revises: d21a1fed255f
Create Date: 2026-11-25 07:35:07.698251

Frozen commission contexts name a plan version instead of carrying a copy of the plan:
the plans already frozen on orders move into versions (one per distinct content). The
indexes dropped are each served by a composite index or unique key that starts with the
same column.
"""
import hashlib
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7512e26bf1a0'
down_revision = 'd21a1fed255f'
branch_labels = None
depends_on = None

BATCH = 1000
orders = sa.table(
    "orders", sa.column("id", sa.Integer), sa.column("commission_context", sa.JSON)
)
versions = sa.table(
    "commission_plan_versions",
    sa.column("id", sa.Integer),
    sa.column("digest", sa.String),
    sa.column("plan", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _digest(plan):
    # as portal.commissions.context.digest
    canonical = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _contexts(conn):
    """(id, context) of every order with one, a batch at a time."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(orders.c.id, orders.c.commission_context)
            .where(orders.c.id > last, orders.c.commission_context.is_not(None))
            .order_by(orders.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _plans_to_versions():
    conn = op.get_bind()
    ids = {}
    for order_id, ctx in _contexts(conn):
        if "plan" not in ctx:
            continue
        plan = ctx.pop("plan")
        digest = _digest(plan)
        if digest not in ids:
            ids[digest] = conn.execute(
                versions.insert()
                .values(digest=digest, plan=plan, created_at=sa.func.now())
                .returning(versions.c.id)
            ).scalar_one()
        ctx = {"plan_version": ids[digest], **ctx}
        conn.execute(
            orders.update().where(orders.c.id == order_id).values(commission_context=ctx)
        )


def _versions_to_plans():
    conn = op.get_bind()
    plans = dict(conn.execute(sa.select(versions.c.id, versions.c.plan)).all())
    for order_id, ctx in _contexts(conn):
        version = ctx.pop("plan_version", None)
        if version is None:
            continue
        ctx = {"plan": plans[version], **ctx}
        conn.execute(
            orders.update().where(orders.c.id == order_id).values(commission_context=ctx)
        )


def upgrade():
    op.create_table('commission_plan_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_plan_versions')),
    sa.UniqueConstraint('digest', name=op.f('uq_commission_plan_versions_digest'))
    )
    _plans_to_versions()
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commissions_beneficiary_id'))
        batch_op.drop_index(batch_op.f('ix_commissions_order_id'))
        batch_op.drop_index(batch_op.f('ix_commissions_state'))

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_created_at'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_distributor_id'))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_distributor_id'))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_distributor_id'), ['distributor_id'], unique=False)

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_distributor_id'), ['distributor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commissions_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_commissions_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commissions_beneficiary_id'), ['beneficiary_id'], unique=False)

    _versions_to_plans()
    op.drop_table('commission_plan_versions')
