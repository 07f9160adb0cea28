"""Store credit in the shop

Revision ID: b19c4d5e6f71
Revises: e20b2c3d4e51
Create Date: 2026-12-03 10:00:00.000000

One row per store-credit coupon in the shop: the withdrawal it pays, the coupon it is the
unspent rest of, its value (the distributor's own money and the bonus), and whether the
shop matches it yet. New payout method / withdrawal state / ledger bucket values need no
change of the schema (they are VARCHAR).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b19c4d5e6f71'
down_revision = 'e20b2c3d4e51'
branch_labels = None
depends_on = None


def upgrade():
    money = sa.Numeric(precision=18, scale=4)
    op.create_table(
        'store_credits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('withdrawal_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('amount', money, nullable=False),
        sa.Column('principal', money, nullable=False),
        sa.Column('bonus', money, nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column(
            'state',
            sa.Enum(
                'pending', 'issued', 'redeemed', 'revoked',
                name='creditstate', native_enum=False, length=20,
            ),
            nullable=False,
        ),
        sa.Column('synced', sa.Boolean(), nullable=False),
        sa.Column('shop_coupon_id', sa.String(length=32), nullable=True),
        sa.Column('shop_order_id', sa.String(length=64), nullable=True),
        sa.Column('used', money, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_store_credits_distributor_id_distributors'),
        ),
        sa.ForeignKeyConstraint(
            ['withdrawal_id'], ['withdrawals.id'],
            name=op.f('fk_store_credits_withdrawal_id_withdrawals'),
        ),
        sa.ForeignKeyConstraint(
            ['parent_id'], ['store_credits.id'],
            name=op.f('fk_store_credits_parent_id_store_credits'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_store_credits')),
        sa.UniqueConstraint('code', name=op.f('uq_store_credits_code')),
        sa.UniqueConstraint('parent_id', name=op.f('uq_store_credits_parent_id')),
    )
    for column in ('distributor_id', 'withdrawal_id', 'state', 'synced'):
        op.create_index(op.f(f'ix_store_credits_{column}'), 'store_credits', [column])


def downgrade():
    for column in ('distributor_id', 'withdrawal_id', 'state', 'synced'):
        op.drop_index(op.f(f'ix_store_credits_{column}'), table_name='store_credits')
    op.drop_table('store_credits')
