"""WooCommerce fidelity: refund splits, same-second copies, failed deliveries

Revision ID: e13b7a1f0c02
Revises: c3a7e5d1f209
Create Date: 2026-12-02 08:30:00.000000

Orders keep the digest of the last copy stored (a second change inside one second has
the same modification time but other content) and how each refund reduced the goods.
The inbox marks rows it gave up on; refund splits read over REST are kept once.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e13b7a1f0c02'
down_revision = 'c3a7e5d1f209'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders') as batch_op:
        batch_op.add_column(sa.Column('refund_notes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('shop_digest', sa.String(length=32), nullable=True))
    with op.batch_alter_table('woo_inbox') as batch_op:
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('woo_sync_state') as batch_op:
        batch_op.add_column(sa.Column('gone_checked_after', sa.Integer(), nullable=True))
    op.create_table(
        'woo_refunds',
        sa.Column('refund_id', sa.String(length=64), nullable=False),
        sa.Column('shop_order_id', sa.String(length=64), nullable=False),
        sa.Column('amount', sa.String(length=32), nullable=False),
        sa.Column('has_lines', sa.Boolean(), nullable=False),
        sa.Column('goods', sa.JSON(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_woo_refunds')),
    )
    op.create_index(op.f('ix_woo_refunds_shop_order_id'), 'woo_refunds', ['shop_order_id'])


def downgrade():
    op.drop_index(op.f('ix_woo_refunds_shop_order_id'), table_name='woo_refunds')
    op.drop_table('woo_refunds')
    with op.batch_alter_table('woo_sync_state') as batch_op:
        batch_op.drop_column('gone_checked_after')
    with op.batch_alter_table('woo_inbox') as batch_op:
        batch_op.drop_column('failed_at')
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('shop_digest')
        batch_op.drop_column('refund_notes')
