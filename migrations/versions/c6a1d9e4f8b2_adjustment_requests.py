"""Adjustment requests: manual adjustments waiting for a second staff member

Revision ID: c6a1d9e4f8b2
Revises: f7a2c8e1d5b9
Create Date: 2026-12-02 15:30:00.000000

A manual adjustment above the approval threshold is stored here, not in the ledger, until
another staff member approves it (maker-checker); the ledger entry is booked then.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c6a1d9e4f8b2'
down_revision = 'f7a2c8e1d5b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'adjustment_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.String(length=100), nullable=False),
        sa.Column(
            'state',
            sa.Enum('pending', 'approved', 'rejected', name='adjustmentstate', native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'], name=op.f('fk_adjustment_requests_decided_by_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_adjustment_requests_distributor_id_distributors'),
        ),
        sa.ForeignKeyConstraint(
            ['requested_by_id'], ['users.id'],
            name=op.f('fk_adjustment_requests_requested_by_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustment_requests')),
    )
    for column in ('decided_by_id', 'distributor_id', 'requested_by_id', 'state'):
        op.create_index(
            op.f(f'ix_adjustment_requests_{column}'), 'adjustment_requests', [column]
        )


def downgrade():
    for column in ('state', 'requested_by_id', 'distributor_id', 'decided_by_id'):
        op.drop_index(op.f(f'ix_adjustment_requests_{column}'), table_name='adjustment_requests')
    op.drop_table('adjustment_requests')
