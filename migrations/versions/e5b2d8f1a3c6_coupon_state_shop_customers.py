"""Personal coupons as they should be in the shop; linking distributors to shop customers

Revision ID: e5b2d8f1a3c6
Revises: b3f8e1d2c4a7
Create Date: 2026-12-05 09:00:00.000000

A personal coupon keeps what it should be (its limits, expiry, and whether it works:
not while its distributor is suspended) and whether the shop has it so; the shop plugin
pushes the difference. Coupons of distributors suspended before this revision are marked
to be disabled in the shop. The reconcile links distributors to shop customers in turn
(its cursor is in the shop plugin's sync state, now added by the plugin's own migration
branch, plugins/woocommerce_bridge/migrations).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5b2d8f1a3c6'
down_revision = 'b3f8e1d2c4a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('distributor_coupons') as batch_op:
        batch_op.alter_column('shop_coupon_id', existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column('usage_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('usage_limit_per_user', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column('synced', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_distributor_coupons_synced'), ['synced'])
    distributors = sa.table('distributors', sa.column('id'), sa.column('status'))
    coupons = sa.table(
        'distributor_coupons', sa.column('distributor_id'), sa.column('active'), sa.column('synced')
    )
    not_active = sa.select(distributors.c.id).where(distributors.c.status != 'active')
    op.execute(
        coupons.update()
        .where(coupons.c.distributor_id.in_(not_active))
        .values(active=False, synced=False)
    )
    with op.batch_alter_table('distributor_coupons') as batch_op:
        batch_op.alter_column('active', server_default=None)
        batch_op.alter_column('synced', server_default=None)


def downgrade():
    op.execute("UPDATE distributor_coupons SET shop_coupon_id = '' WHERE shop_coupon_id IS NULL")
    with op.batch_alter_table('distributor_coupons') as batch_op:
        batch_op.drop_index(batch_op.f('ix_distributor_coupons_synced'))
        batch_op.drop_column('last_attempt_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('synced')
        batch_op.drop_column('active')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('usage_limit_per_user')
        batch_op.drop_column('usage_limit')
        batch_op.alter_column('shop_coupon_id', existing_type=sa.String(length=32), nullable=False)
