"""Subscription renewals: a plan's renewal terms, the original order of a renewal

Revision ID: e20d5e6f7a81
Revises: b19c4d5e6f71
Create Date: 2026-12-03 11:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e20d5e6f7a81'
down_revision = 'b19c4d5e6f71'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('commission_plans', sa.Column('renewal_rate', sa.Numeric(7, 4), nullable=True))
    op.add_column('commission_plans', sa.Column('renewal_limit', sa.Integer(), nullable=True))
    op.add_column('commission_plans', sa.Column('renewal_months', sa.Integer(), nullable=True))
    # No foreign key (adding one copies the orders table on SQLite); orders are not deleted.
    op.add_column('orders', sa.Column('renewal_of_id', sa.Integer(), nullable=True))
    op.create_index('ix_orders_renewal_of_id', 'orders', ['renewal_of_id'])


def downgrade():
    op.drop_index('ix_orders_renewal_of_id', table_name='orders')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('renewal_of_id')
    with op.batch_alter_table('commission_plans') as batch:
        batch.drop_column('renewal_months')
        batch.drop_column('renewal_limit')
        batch.drop_column('renewal_rate')
