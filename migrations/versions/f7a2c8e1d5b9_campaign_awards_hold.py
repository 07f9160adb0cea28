"""Campaign awards wait for the return window and follow their orders

Revision ID: f7a2c8e1d5b9
Revises: d4e9f2a7b1c3
Create Date: 2026-12-02 16:00:00.000000

Awards booked before this revision went straight to available: they are available and
matured when they were booked.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f7a2c8e1d5b9'
down_revision = 'd4e9f2a7b1c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_awards') as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('matures_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE campaign_awards SET state = 'available', matures_at = created_at")
    with op.batch_alter_table('campaign_awards') as batch_op:
        batch_op.alter_column(
            'state',
            existing_type=sa.String(length=20),
            type_=sa.Enum(
                'holding', 'available', 'reversed', name='awardstate', native_enum=False,
                length=20,
            ),
            nullable=False,
        )
        batch_op.alter_column(
            'matures_at', existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade():
    with op.batch_alter_table('campaign_awards') as batch_op:
        batch_op.drop_column('matures_at')
        batch_op.drop_column('state')
