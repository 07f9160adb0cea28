"""net totals on orders, order dates on commissions, covering indexes for the centre

Revision ID: 4ef68727e82c
Revises: 6beedcd638a9
Create Date: 2026-11-25 04:50:05.215968

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4ef68727e82c'
down_revision = '6beedcd638a9'
branch_labels = None
depends_on = None

# PostgreSQL gets covering indexes (INCLUDE): dashboard sums read the index alone.
COVERING = [
    ("ix_orders_distributor_created", "orders", ["distributor_id", "created_at_shop"],
     ["status", "net_total"]),
    ("ix_ledger_entries_distributor_bucket", "ledger_entries", ["distributor_id", "bucket"],
     ["amount"]),
]


def _postgresql():
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_created_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('seller_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE commissions SET order_created_at = "
        "(SELECT created_at_shop FROM orders WHERE orders.id = commissions.order_id), "
        "seller_id = (SELECT distributor_id FROM orders WHERE orders.id = commissions.order_id)"
    )
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.alter_column('order_created_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('seller_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_commissions_beneficiary_order_created', ['beneficiary_id', 'order_created_at'], unique=False, postgresql_include=['state', 'seller_id', 'amount'])

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_distributor_created', ['distributor_id', 'created_at'], unique=False, postgresql_include=['kind', 'amount'])

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('net_total', sa.Numeric(precision=18, scale=4), nullable=False, server_default='0'))
    op.execute(
        "UPDATE orders SET net_total = COALESCE((SELECT SUM(total - refunded_total) "
        "FROM order_lines WHERE order_lines.order_id = orders.id), 0) - refunded_unallocated"
    )
    op.execute("UPDATE orders SET net_total = 0 WHERE net_total < 0")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('net_total', existing_type=sa.Numeric(precision=18, scale=4), server_default=None)

    if _postgresql():
        for name, table, columns, include in COVERING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns, postgresql_include=include)


def downgrade():
    if _postgresql():
        for name, table, columns, _include in COVERING:
            op.drop_index(name, table_name=table)
            op.create_index(name, table, columns)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('net_total')

    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_distributor_created', postgresql_include=['kind', 'amount'])

    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.drop_index('ix_commissions_beneficiary_order_created')
        batch_op.drop_column('seller_id')
        batch_op.drop_column('order_created_at')
