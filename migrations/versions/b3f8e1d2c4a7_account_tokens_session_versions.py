"""Accounts: session versions, one-use account links, reset requests

Revision ID: b3f8e1d2c4a7
Revises: a9d4c2e7b610
Create Date: 2026-12-02 16:00:00.000000

Every session and remember-me cookie now carries the user's session version, so raising
it ends them all; cookies issued before this revision name no version and stop working
(everyone signs in once more). Reset, invitation and unlock links are rows that are used
once; "forgot password" requests are kept for their throttle.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3f8e1d2c4a7'
down_revision = 'a9d4c2e7b610'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'account_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Enum('reset', 'invite', 'unlock', name='tokenpurpose', native_enum=False, length=20), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    )
    op.create_index(op.f('ix_account_tokens_user_id'), 'account_tokens', ['user_id'])
    op.create_index('ix_account_tokens_emailed_at', 'account_tokens', ['emailed_at'])
    op.create_table(
        'reset_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('ip_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reset_requests')),
    )
    op.create_index(op.f('ix_reset_requests_created_at'), 'reset_requests', ['created_at'])
    op.create_index(op.f('ix_reset_requests_email'), 'reset_requests', ['email'])
    op.create_index(op.f('ix_reset_requests_ip_hash'), 'reset_requests', ['ip_hash'])


def downgrade():
    op.drop_index(op.f('ix_reset_requests_ip_hash'), table_name='reset_requests')
    op.drop_index(op.f('ix_reset_requests_email'), table_name='reset_requests')
    op.drop_index(op.f('ix_reset_requests_created_at'), table_name='reset_requests')
    op.drop_table('reset_requests')
    op.drop_index('ix_account_tokens_emailed_at', table_name='account_tokens')
    op.drop_index(op.f('ix_account_tokens_user_id'), table_name='account_tokens')
    op.drop_table('account_tokens')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('session_version')
