"""Group leaders' pickup points, orders collected there and their hand-overs

Revision ID: e20a1b2c3d41
Revises: e20c4a5b6d71
Create Date: 2026-12-03 10:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e20a1b2c3d41'
down_revision = 'e20c4a5b6d71'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pickup_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('review_note', sa.Text(), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['distributor_id'], ['distributors.id']),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('distributor_id'),
    )
    op.create_index('ix_pickup_points_status', 'pickup_points', ['status'])
    op.create_index('ix_pickup_points_reviewed_by_id', 'pickup_points', ['reviewed_by_id'])
    # No foreign key: SQLite would have to copy the whole orders table to add one, and
    # pickup points are never deleted (one per leader; rejected or approved, it stays).
    op.add_column('orders', sa.Column('pickup_point_id', sa.Integer(), nullable=True))
    op.add_column('orders', sa.Column('pickup_buyer', sa.String(length=40), nullable=True))
    op.create_index(
        'ix_orders_pickup_point_created', 'orders', ['pickup_point_id', 'created_at_shop']
    )
    op.create_table(
        'pickup_handovers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('point_id', sa.Integer(), nullable=False),
        sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id']),
        sa.ForeignKeyConstraint(['point_id'], ['pickup_points.id']),
        sa.ForeignKeyConstraint(['by_user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id'),
    )
    op.create_index('ix_pickup_handovers_point', 'pickup_handovers', ['point_id'])
    op.create_index('ix_pickup_handovers_by_user_id', 'pickup_handovers', ['by_user_id'])


def downgrade():
    op.drop_index('ix_pickup_handovers_by_user_id', table_name='pickup_handovers')
    op.drop_index('ix_pickup_handovers_point', table_name='pickup_handovers')
    op.drop_table('pickup_handovers')
    op.drop_index('ix_orders_pickup_point_created', table_name='orders')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('pickup_buyer')
        batch.drop_column('pickup_point_id')
    op.drop_index('ix_pickup_points_reviewed_by_id', table_name='pickup_points')
    op.drop_index('ix_pickup_points_status', table_name='pickup_points')
    op.drop_table('pickup_points')
