"""WooCommerce connection from Admin → Shop, webhook health

Revision ID: a9d4c2e7b610
Revises: c6a1d9e4f8b2
Create Date: 2026-12-02 15:30:00.000000

The shop's address and REST keys entered on the Shop page (encrypted), the secret the
portal gave the shop's webhooks, the webhooks as last read over REST, deliveries refused
with a bad signature, and the orders a reconcile found before any webhook brought them.

Those are the shop plugin's tables, which now come from its own migration branch
(plugins/woocommerce_bridge/migrations): nothing is left here but the revision.
"""
# revision identifiers, used by Alembic.
revision = 'a9d4c2e7b610'
down_revision = 'c6a1d9e4f8b2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
