"""Numbered statements: one per paid withdrawal and one per month

Revision ID: 5e9b4a7c3d65
Revises: a7c3e9b5d2f4
Create Date: 2026-12-02 22:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '5e9b4a7c3d65'
down_revision = 'a7c3e9b5d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'statements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('withdrawal_id', sa.Integer(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['distributor_id'], ['distributors.id']),
        sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('withdrawal_id'),
        sa.UniqueConstraint('distributor_id', 'kind', 'period_start'),
    )
    op.create_index('ix_statements_distributor_id', 'statements', ['distributor_id'])


def downgrade():
    op.drop_index('ix_statements_distributor_id', table_name='statements')
    op.drop_table('statements')
