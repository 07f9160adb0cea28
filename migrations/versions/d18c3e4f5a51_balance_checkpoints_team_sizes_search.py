"""Balance checkpoints, maintained team sizes, keyset and trigram indexes

Revision ID: d18c3e4f5a51
Revises: c17e1a2b3c41
Create Date: 2026-12-03 10:00:00.000000

* ``ledger_checkpoints``: per distributor and bucket, the sum of the entries up to an entry
  id, so a balance is a checkpoint plus the entries after it.
* ``ledger_checkpoint_days``: per distributor and UTC day, what they earned up to the
  same entry id (the dashboard's earnings per day).
* The ledger's (distributor, bucket) index gains ``id``, so "entries after the checkpoint"
  is an index range (it still serves every query the old one did); on PostgreSQL it
  includes amount, kind and created_at (index-only).
* Commissions' (beneficiary, state) index gains ``hold_until`` (and includes ``amount`` on
  PostgreSQL): the dashboard's "becomes available on" sums read the index alone.
* ``distributors.team_size_1..3``: members per depth, kept by the application (backfilled
  here; the server default 0 lets bulk SQL insert distributors, then recount); the
  parent index gains ``id`` for the team list's keyset pages.
* PostgreSQL: pg_trgm GIN indexes for the admin search (``ILIKE '%…%'``). The extension
  is created when the migrating role may; without it the indexes are skipped (search
  still works, by a scan). SQLite gets plain indexes of the same names (unused by LIKE,
  but the schema matches the models on both).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd18c3e4f5a51'
down_revision = 'c17e1a2b3c41'
branch_labels = None
depends_on = None

TRIGRAM = [
    ("ix_distributors_display_name_trgm", "distributors", "display_name"),
    ("ix_users_email_trgm", "users", "email"),
]

# Members per depth, from the tree itself (also what ``portal.centre.team.recount`` runs):
# one grouped pass per depth (UPDATE … FROM: PostgreSQL, SQLite ≥ 3.33).
BACKFILL = [
    """UPDATE distributors SET team_size_1 = s.n FROM
         (SELECT parent_id AS id, count(*) AS n FROM distributors
          WHERE parent_id IS NOT NULL GROUP BY parent_id) AS s
       WHERE s.id = distributors.id""",
    """UPDATE distributors SET team_size_2 = s.n FROM
         (SELECT p.parent_id AS id, count(*) AS n
          FROM distributors c JOIN distributors p ON c.parent_id = p.id
          WHERE p.parent_id IS NOT NULL GROUP BY p.parent_id) AS s
       WHERE s.id = distributors.id""",
    """UPDATE distributors SET team_size_3 = s.n FROM
         (SELECT g.parent_id AS id, count(*) AS n
          FROM distributors c JOIN distributors p ON c.parent_id = p.id
          JOIN distributors g ON p.parent_id = g.id
          WHERE g.parent_id IS NOT NULL GROUP BY g.parent_id) AS s
       WHERE s.id = distributors.id""",
]


def _postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _trigram_available():
    """Create pg_trgm if this role may (in a savepoint: a refusal must not abort the
    migration's transaction); True when the extension is there."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        pass
    return bool(
        bind.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
    )


def upgrade():
    op.create_table(
        'ledger_checkpoints',
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.String(length=20), nullable=False),
        sa.Column('upto_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_ledger_checkpoints_distributor_id_distributors'),
        ),
        sa.PrimaryKeyConstraint('distributor_id', 'bucket', name=op.f('pk_ledger_checkpoints')),
    )
    op.create_table(
        'ledger_checkpoint_days',
        sa.Column('distributor_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('earned', sa.Numeric(precision=18, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ['distributor_id'], ['distributors.id'],
            name=op.f('fk_ledger_checkpoint_days_distributor_id_distributors'),
        ),
        sa.PrimaryKeyConstraint('distributor_id', 'day', name=op.f('pk_ledger_checkpoint_days')),
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_distributor_bucket')
        batch_op.create_index(
            'ix_ledger_entries_distributor_bucket_id', ['distributor_id', 'bucket', 'id'],
            unique=False, postgresql_include=['amount', 'kind', 'created_at'],
        )
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.drop_index('ix_commissions_beneficiary_state')
        batch_op.create_index(
            'ix_commissions_beneficiary_state_hold', ['beneficiary_id', 'state', 'hold_until'],
            unique=False, postgresql_include=['amount'],
        )
    with op.batch_alter_table('distributors', schema=None) as batch_op:
        for depth in (1, 2, 3):
            batch_op.add_column(
                sa.Column(f'team_size_{depth}', sa.Integer(), nullable=False, server_default='0')
            )
        batch_op.drop_index('ix_distributors_parent_id')
        batch_op.create_index('ix_distributors_parent_id_id', ['parent_id', 'id'], unique=False)
    for statement in BACKFILL:
        op.execute(statement)
    if _postgresql():
        if _trigram_available():
            for name, table, column in TRIGRAM:
                op.create_index(
                    name, table, [column], postgresql_using='gin',
                    postgresql_ops={column: 'gin_trgm_ops'},
                )
    else:
        for name, table, column in TRIGRAM:
            op.create_index(name, table, [column])


def downgrade():
    bind = op.get_bind()
    for name, table, _column in TRIGRAM:
        if sa.inspect(bind).has_index(table, name):
            op.drop_index(name, table_name=table)
    with op.batch_alter_table('distributors', schema=None) as batch_op:
        batch_op.drop_index('ix_distributors_parent_id_id')
        batch_op.create_index('ix_distributors_parent_id', ['parent_id'], unique=False)
        for depth in (3, 2, 1):
            batch_op.drop_column(f'team_size_{depth}')
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.drop_index('ix_commissions_beneficiary_state_hold')
        batch_op.create_index(
            'ix_commissions_beneficiary_state', ['beneficiary_id', 'state'], unique=False
        )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_distributor_bucket_id')
        batch_op.create_index(
            'ix_ledger_entries_distributor_bucket', ['distributor_id', 'bucket'],
            unique=False, postgresql_include=['amount'],
        )
    op.drop_table('ledger_checkpoint_days')
    op.drop_table('ledger_checkpoints')
