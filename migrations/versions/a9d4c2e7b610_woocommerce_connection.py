"""WooCommerce connection from Admin → Shop, webhook health

Revision ID: a9d4c2e7b610
Revises: c6a1d9e4f8b2
Create Date: 2026-12-02 15:30:00.000000

The shop's address and REST keys entered on the Shop page (encrypted), the secret the
portal gave the shop's webhooks, the webhooks as last read over REST, deliveries refused
with a bad signature, and the orders a reconcile found before any webhook brought them.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a9d4c2e7b610'
down_revision = 'c6a1d9e4f8b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'woo_connection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_url', sa.String(length=255), nullable=True),
        sa.Column('consumer_key', sa.Text(), nullable=True),
        sa.Column('consumer_secret', sa.Text(), nullable=True),
        sa.Column('webhook_secret', sa.Text(), nullable=True),
        sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivery_url', sa.String(length=255), nullable=True),
        sa.Column('auth', sa.String(length=16), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('webhooks', sa.JSON(), nullable=False),
        sa.Column('webhooks_read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('webhooks_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('unauthorized', sa.Integer(), nullable=False),
        sa.Column('unauthorized_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_unauthorized_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_woo_connection')),
    )
    op.create_table(
        'woo_rest_finds',
        sa.Column('shop_order_id', sa.String(length=64), nullable=False),
        sa.Column('delivery_after', sa.DateTime(timezone=True), nullable=False),
        sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('shop_order_id', name=op.f('pk_woo_rest_finds')),
    )
    op.create_index(op.f('ix_woo_rest_finds_found_at'), 'woo_rest_finds', ['found_at'])


def downgrade():
    op.drop_index(op.f('ix_woo_rest_finds_found_at'), table_name='woo_rest_finds')
    op.drop_table('woo_rest_finds')
    op.drop_table('woo_connection')
