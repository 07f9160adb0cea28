"""Recruitment modes and the acceptance of the distributor terms

Revision ID: a7c3e9b5d2f4
Revises: e5b2d8f1a3c6
Create Date: 2026-12-05 10:00:00.000000

The "approve new distributors automatically" switch becomes one of the recruitment modes:
a stored ``true`` is now the mode ``open`` (``false`` was the default, ``apply``). Each
distributor keeps when they accepted the terms and the fingerprint of the text accepted.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7c3e9b5d2f4'
down_revision = 'e5b2d8f1a3c6'
branch_labels = None
depends_on = None

settings = sa.table(
    'settings',
    sa.column('key', sa.String()),
    sa.column('value', sa.JSON()),
    sa.column('updated_at', sa.DateTime(timezone=True)),
)


def _move(old_key, old_value, new_key, new_value):
    """Replace the row ``old_key`` by ``new_key`` when it held ``old_value``; drop it either way."""
    bind = op.get_bind()
    stored = bind.execute(sa.select(settings.c.value).where(settings.c.key == old_key)).first()
    bind.execute(settings.delete().where(settings.c.key == old_key))
    if stored is not None and stored.value == old_value:
        bind.execute(settings.delete().where(settings.c.key == new_key))
        bind.execute(
            settings.insert().values(key=new_key, value=new_value, updated_at=datetime.now(UTC))
        )


def upgrade():
    with op.batch_alter_table('distributors') as batch_op:
        batch_op.add_column(sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('terms_version', sa.String(length=64), nullable=True))
    _move('auto_approve_distributors', True, 'recruitment_mode', 'open')


def downgrade():
    # Before this revision only "open" had a name; the buyer modes fall back to applying.
    _move('recruitment_mode', 'open', 'auto_approve_distributors', True)
    with op.batch_alter_table('distributors') as batch_op:
        batch_op.drop_column('terms_version')
        batch_op.drop_column('terms_accepted_at')
