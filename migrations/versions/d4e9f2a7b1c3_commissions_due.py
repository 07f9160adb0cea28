"""Orders carry a "commissions due" mark between a change and its commission run

Revision ID: d4e9f2a7b1c3
Revises: e13b7a1f0c02
Create Date: 2026-12-02 15:30:00.000000

Every intake path stores an order and runs its commissions in one transaction, so a mark
that outlives one is work left undone; the sweep runs it. Orders whose commissions never
ran (stored before this revision by a run that died) are marked from the start.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4e9f2a7b1c3'
down_revision = 'e13b7a1f0c02'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(
            sa.Column('commissions_due_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_orders_commissions_due_at'), ['commissions_due_at']
        )
    op.execute(
        "UPDATE orders SET commissions_due_at = stored_at WHERE commission_runs = 0"
    )


def downgrade():
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_commissions_due_at'))
        batch_op.drop_column('commissions_due_at')
