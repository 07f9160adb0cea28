"""What you earn, onboarding and notices: the first-visit checklist, notification settings

Revision ID: c17e1a2b3c41
Revises: c17d3e4f5a61
Create Date: 2026-12-03 10:00:00.000000

The checklist steps a distributor did (one row per step, first time only), the
distributor's two notification settings (commission on an order, a team member's sale;
on by default), and an index that lists the catalogue by name for the Share page.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c17e1a2b3c41'
down_revision = 'c17d3e4f5a61'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'onboarding_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=20), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_onboarding_steps_distributor_id_distributors'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_steps')),
        sa.UniqueConstraint(
            'distributor_id', 'step', name=op.f('uq_onboarding_steps_distributor_id')
        ),
    )
    with op.batch_alter_table('distributors') as batch_op:
        batch_op.add_column(
            sa.Column('notify_commission', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column('notify_team_sale', sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_index('ix_products_name_id', 'products', ['name', 'id'])


def downgrade():
    op.drop_index('ix_products_name_id', table_name='products')
    with op.batch_alter_table('distributors') as batch_op:
        batch_op.drop_column('notify_team_sale')
        batch_op.drop_column('notify_commission')
    op.drop_table('onboarding_steps')
