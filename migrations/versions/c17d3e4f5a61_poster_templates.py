"""Poster templates

Revision ID: c17d3e4f5a61
Revises: b19a2c3d4e51
Create Date: 2026-12-03 10:00:00.000000

The posters ops design for distributors to share: a background picture, its size and
where each element goes on it; a version bumped on every save keys the rendered posters.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c17d3e4f5a61'
down_revision = 'b19a2c3d4e51'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'poster_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.Enum('product', 'invite', name='posterkind', native_enum=False, length=20), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('background_file', sa.String(length=80), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('layout', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_poster_templates_created_by_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_poster_templates')),
    )
    op.create_index(op.f('ix_poster_templates_kind'), 'poster_templates', ['kind'])
    op.create_index(op.f('ix_poster_templates_active'), 'poster_templates', ['active'])
    op.create_index(
        op.f('ix_poster_templates_created_by_id'), 'poster_templates', ['created_by_id']
    )


def downgrade():
    op.drop_index(op.f('ix_poster_templates_created_by_id'), table_name='poster_templates')
    op.drop_index(op.f('ix_poster_templates_active'), table_name='poster_templates')
    op.drop_index(op.f('ix_poster_templates_kind'), table_name='poster_templates')
    op.drop_table('poster_templates')
