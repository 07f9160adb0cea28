"""Creators: vanity codes, sub-ids on clicks and orders, deep links

Revision ID: e20c4a5b6d71
Revises: 1a5f0c3e9d21
Create Date: 2026-12-03 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = 'e20c4a5b6d71'
down_revision = '1a5f0c3e9d21'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('distributors', sa.Column('vanity_code', sa.String(length=16), nullable=True))
    op.create_index(
        'ix_distributors_vanity_code', 'distributors', ['vanity_code'], unique=True
    )
    op.add_column('clicks', sa.Column('sub_id', sa.String(length=40), nullable=True))
    op.add_column('orders', sa.Column('sub_id', sa.String(length=40), nullable=True))
    op.add_column('orders', sa.Column('referrer_host', sa.String(length=255), nullable=True))
    op.create_table(
        'deep_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=12), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['distributor_id'], ['distributors.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slug'),
    )
    op.create_index('ix_deep_links_distributor_id', 'deep_links', ['distributor_id'])


def downgrade():
    op.drop_index('ix_deep_links_distributor_id', table_name='deep_links')
    op.drop_table('deep_links')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('referrer_host')
        batch.drop_column('sub_id')
    with op.batch_alter_table('clicks') as batch:
        batch.drop_column('sub_id')
    op.drop_index('ix_distributors_vanity_code', table_name='distributors')
    with op.batch_alter_table('distributors') as batch:
        batch.drop_column('vanity_code')
