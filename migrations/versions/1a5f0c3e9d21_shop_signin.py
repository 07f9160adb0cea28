"""Sign in with the shop account

Revision ID: 1a5f0c3e9d21
Revises: 5e9b4a7c3d65
Create Date: 2026-12-06 10:00:00.000000

The shop's sign-in secret (encrypted, beside the other shop credentials), the one-time
nonces of the assertions the shop signed, and each distributor's proven shop account.
The first two are the shop plugin's, which now come from its own migration branch
(plugins/woocommerce_bridge/migrations): only the shop accounts are left here.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '1a5f0c3e9d21'
down_revision = '5e9b4a7c3d65'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shop_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.String(length=64), nullable=False),
        sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_signin_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_shop_accounts_distributor_id_distributors'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_accounts')),
        sa.UniqueConstraint('customer_id', name=op.f('uq_shop_accounts_customer_id')),
        sa.UniqueConstraint('distributor_id', name=op.f('uq_shop_accounts_distributor_id')),
    )


def downgrade():
    op.drop_table('shop_accounts')
