"""Group-buy rounds

Revision ID: e20b2c3d4e51
Revises: d18c3e4f5a51
Create Date: 2026-12-03 10:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e20b2c3d4e51'
down_revision = 'd18c3e4f5a51'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_rounds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('product_ids', sa.JSON(), nullable=False),
        sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('leader_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['leader_id'], ['distributors.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_group_rounds_closes_at', 'group_rounds', ['closes_at'])
    op.create_index('ix_group_rounds_leader_id', 'group_rounds', ['leader_id'])
    op.create_index('ix_group_rounds_created_by_id', 'group_rounds', ['created_by_id'])


def downgrade():
    op.drop_index('ix_group_rounds_created_by_id', table_name='group_rounds')
    op.drop_index('ix_group_rounds_leader_id', table_name='group_rounds')
    op.drop_index('ix_group_rounds_closes_at', table_name='group_rounds')
    op.drop_table('group_rounds')
