"""woocommerce inbox

Revision ID: f5b89f74beed
Revises: 02c18a460e80
Create Date: 2026-11-25 03:01:50.303346

Created the shop plugin's inbox, which now comes from the plugin's own migration branch
(plugins/woocommerce_bridge/migrations): nothing is left here but the revision.
"""
# revision identifiers, used by Alembic.
revision = 'f5b89f74beed'
down_revision = '02c18a460e80'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
