"""WooCommerce fidelity: refund splits, same-second copies, failed deliveries

Revision ID: e13b7a1f0c02
Revises: c3a7e5d1f209
Create Date: 2026-12-02 08:30:00.000000

Orders keep the digest of the last copy stored (a second change inside one second has
the same modification time but other content) and how each refund reduced the goods.
The inbox marks rows it gave up on; refund splits read over REST are kept once — those
are the shop plugin's tables, which now come from its own migration branch
(plugins/woocommerce_bridge/migrations): only the orders' part is left here.
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


def downgrade():
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_column('shop_digest')
        batch_op.drop_column('refund_notes')
