"""covering indexes for the admin reports

Revision ID: c3a7e5d1f209
Revises: 7512e26bf1a0
Create Date: 2026-11-25 07:45:00.000000

The reports group a date range's orders, commissions and clicks: one index each that
starts with the date. On PostgreSQL the orders and commissions ones carry the columns
the reports read (INCLUDE), so a range is summed from the index alone.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a7e5d1f209'
down_revision = '7512e26bf1a0'
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    if _postgresql():
        # The plain date index of orders becomes a covering one (same name and column).
        op.drop_index('ix_orders_created_at_shop', table_name='orders')
        op.create_index('ix_orders_created_at_shop', 'orders', ['created_at_shop'],
                        postgresql_include=['distributor_id', 'status', 'net_total'])
    op.create_index('ix_commissions_order_created', 'commissions', ['order_created_at'],
                    postgresql_include=['state', 'amount'])
    op.create_index('ix_clicks_created', 'clicks', ['created_at'])


def downgrade():
    op.drop_index('ix_clicks_created', table_name='clicks')
    op.drop_index('ix_commissions_order_created', table_name='commissions')
    if _postgresql():
        op.drop_index('ix_orders_created_at_shop', table_name='orders')
        op.create_index('ix_orders_created_at_shop', 'orders', ['created_at_shop'])
