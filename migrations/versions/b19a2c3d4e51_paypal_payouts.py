"""PayPal payouts

Revision ID: b19a2c3d4e51
Revises: e20a1b2c3d41
Create Date: 2026-12-03 09:46:46.859324

PayPal Payouts batches (stored before they are sent, by their sender_batch_id), their
items (one per withdrawal; the unique ``claim`` keeps a withdrawal in one live batch) and
the verified webhook events.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b19a2c3d4e51'
down_revision = 'e20a1b2c3d41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('paypal_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('resource', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paypal_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_paypal_events_event_id'))
    )
    with op.batch_alter_table('paypal_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paypal_events_processed_at'), ['processed_at'], unique=False)

    op.create_table('paypal_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_batch_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('unknown', 'sent', 'refused', 'closed', name='paypalbatchstate', native_enum=False, length=20), nullable=False),
    sa.Column('payout_batch_id', sa.String(length=64), nullable=True),
    sa.Column('batch_status', sa.String(length=20), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_paypal_batches_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paypal_batches')),
    sa.UniqueConstraint('payout_batch_id', name=op.f('uq_paypal_batches_payout_batch_id')),
    sa.UniqueConstraint('sender_batch_id', name=op.f('uq_paypal_batches_sender_batch_id'))
    )
    with op.batch_alter_table('paypal_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paypal_batches_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paypal_batches_state'), ['state'], unique=False)

    op.create_table('paypal_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.Integer(), nullable=False),
    sa.Column('claim', sa.Integer(), nullable=True),
    sa.Column('sender_item_id', sa.String(length=64), nullable=False),
    sa.Column('recipient_type', sa.String(length=10), nullable=False),
    sa.Column('receiver', sa.String(length=120), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payout_item_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=64), nullable=True),
    sa.Column('transaction_status', sa.String(length=20), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('attention', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['paypal_batches.id'], name=op.f('fk_paypal_items_batch_id_paypal_batches')),
    sa.ForeignKeyConstraint(['claim'], ['withdrawals.id'], name=op.f('fk_paypal_items_claim_withdrawals')),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id'], name=op.f('fk_paypal_items_withdrawal_id_withdrawals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paypal_items')),
    sa.UniqueConstraint('claim', name=op.f('uq_paypal_items_claim'))
    )
    with op.batch_alter_table('paypal_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paypal_items_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paypal_items_payout_item_id'), ['payout_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paypal_items_withdrawal_id'), ['withdrawal_id'], unique=False)



def downgrade():
    with op.batch_alter_table('paypal_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paypal_items_withdrawal_id'))
        batch_op.drop_index(batch_op.f('ix_paypal_items_payout_item_id'))
        batch_op.drop_index(batch_op.f('ix_paypal_items_batch_id'))

    op.drop_table('paypal_items')
    with op.batch_alter_table('paypal_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paypal_batches_state'))
        batch_op.drop_index(batch_op.f('ix_paypal_batches_created_by_id'))

    op.drop_table('paypal_batches')
    with op.batch_alter_table('paypal_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paypal_events_processed_at'))

    op.drop_table('paypal_events')
