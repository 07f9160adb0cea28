"""Report rollups: per day / month / year and distributor, the keys due, their triggers

Revision ID: f18e4a5b6c71
Revises: e20d5e6f7a81
Create Date: 2026-12-03 15:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "f18e4a5b6c71"
down_revision = "e20d5e6f7a81"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 4)
STATES = ("pending", "holding", "available", "paid", "on_review", "reversed")
VALUES = ("orders", "sales", "qualifying_orders", "qualifying_sales", *STATES)

# What a change of a row makes stale: (timestamp whose UTC day, distributor) pairs, read
# from the row ({r}) or from its order (o); and the columns whose change matters.
SOURCES = {
    "orders": {
        "pairs": [("{r}.created_at_shop", "{r}.distributor_id")],
        "join": None,
        "watched": ("status", "net_total", "distributor_id", "created_at_shop"),
    },
    "commissions": {
        "pairs": [
            ("{r}.order_created_at", "{r}.beneficiary_id"),
            ("{r}.order_created_at", "{r}.seller_id"),  # on review: not qualifying
        ],
        "join": None,
        "watched": ("state", "amount", "beneficiary_id", "seller_id", "order_created_at"),
    },
    "risk_flags": {  # an open or rejected flag: the order does not qualify
        "pairs": [("o.created_at_shop", "o.distributor_id")],
        "join": "orders o ON o.id = {r}.order_id",
        "watched": ("status", "order_id"),
    },
}


def _pg_day(column):
    return f"(({column}) AT TIME ZONE 'UTC')::date"


def _sqlite_day(column):
    return f"date({column})"


def _pg_statements(table, spec):
    def keys(source):
        pairs = ", ".join(
            f"({_pg_day(t.format(r='r'))}, {d.format(r='r')})" for t, d in spec["pairs"]
        )
        join = f" JOIN {spec['join'].format(r='r')}" if spec["join"] else ""
        return (
            "INSERT INTO report_due (day, distributor_id) "
            f"SELECT DISTINCT k.day, k.distributor_id FROM {source} AS r{join} "
            f"CROSS JOIN LATERAL (VALUES {pairs}) AS k(day, distributor_id) "
            "WHERE k.distributor_id IS NOT NULL ORDER BY 1, 2;"
        )

    watched = spec["watched"]
    changed = (
        f"ROW({', '.join('o.' + w for w in watched)}) IS DISTINCT FROM "
        f"ROW({', '.join('n.' + w for w in watched)})"
    )
    moved = (
        f"(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed} "
        f"UNION ALL SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed})"
    )
    function = f"report_due_{table}"
    body = (
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$\n"
        "BEGIN\n"
        f"  IF TG_OP = 'INSERT' THEN {keys('new_rows')}\n"
        f"  ELSIF TG_OP = 'DELETE' THEN {keys('old_rows')}\n"
        f"  ELSE {keys(moved)}\n"
        "  END IF;\n"
        "  RETURN NULL;\n"
        "END\n"
        "$$ LANGUAGE plpgsql"
    )
    triggers = [
        f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {table} "
        f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ]
    return [body, *triggers]


def _sqlite_statements(table, spec):
    def inserts(row):
        join = ""
        if spec["join"]:
            joined, on = spec["join"].format(r=row).split(" ON ")
            join = f" FROM {joined} WHERE {on} AND"
        else:
            join = " WHERE"
        return " ".join(
            "INSERT INTO report_due (day, distributor_id) "
            f"SELECT {_sqlite_day(t.format(r=row))}, {d.format(r=row)}{join} "
            f"{d.format(r=row)} IS NOT NULL;"
            for t, d in spec["pairs"]
        )

    watched = spec["watched"]
    changed = " OR ".join(f"OLD.{w} IS NOT NEW.{w}" for w in watched)
    name = f"report_due_{table}"
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN {inserts('NEW')} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(watched)} ON {table} "
        f"WHEN {changed} BEGIN {inserts('OLD')} {inserts('NEW')} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN {inserts('OLD')} END",
    ]


# A click written into a closed day (a backdated insert, a deletion) reopens it: its count
# is then read from the clicks until the hourly job closes it again.
PG_CLICKS = [
    """CREATE OR REPLACE FUNCTION report_click_days_reopen() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    DELETE FROM report_click_days
    WHERE day IN (SELECT (created_at AT TIME ZONE 'UTC')::date FROM new_rows);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    DELETE FROM report_click_days
    WHERE day IN (SELECT (created_at AT TIME ZONE 'UTC')::date FROM old_rows);
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql""",
    *(
        f"CREATE TRIGGER report_click_days_{event.lower()} AFTER {event} ON clicks "
        f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION report_click_days_reopen()"
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ),
    "INSERT INTO report_click_days (day, clicks) "
    "SELECT (created_at AT TIME ZONE 'UTC')::date, count(*) FROM clicks "
    "WHERE created_at < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
    "GROUP BY 1",
]
SQLITE_CLICKS = [
    "CREATE TRIGGER report_click_days_insert AFTER INSERT ON clicks BEGIN "
    "DELETE FROM report_click_days WHERE day = date(NEW.created_at); END",
    "CREATE TRIGGER report_click_days_update AFTER UPDATE OF created_at ON clicks BEGIN "
    "DELETE FROM report_click_days WHERE day = date(OLD.created_at); "
    "DELETE FROM report_click_days WHERE day = date(NEW.created_at); END",
    "CREATE TRIGGER report_click_days_delete AFTER DELETE ON clicks BEGIN "
    "DELETE FROM report_click_days WHERE day = date(OLD.created_at); END",
    "INSERT INTO report_click_days (day, clicks) SELECT date(created_at), count(*) FROM clicks "
    "WHERE date(created_at) < date('now') GROUP BY 1",
]


def _backfill(day):
    """Every rollup from the base tables (what portal.reports.rollups.rebuild does)."""
    qualifies = (
        "o.status IN ('processing', 'completed') AND o.net_total > 0 "
        "AND NOT EXISTS (SELECT 1 FROM risk_flags f WHERE f.order_id = o.id "
        "AND f.status IN ('open', 'rejected')) "
        "AND NOT EXISTS (SELECT 1 FROM commissions q WHERE q.order_id = o.id "
        "AND q.state = 'on_review')"
    )
    columns = ", ".join(VALUES)
    sums = ", ".join(f"sum({v})" for v in VALUES)
    zeros = ", ".join(f"0 AS {s}" for s in STATES)
    by_state = ", ".join(
        f"sum(CASE WHEN c.state = '{s}' THEN c.amount ELSE 0 END) AS {s}" for s in STATES
    )
    into = f"INSERT INTO report_rollups (span, start, distributor_id, {columns}) "
    return [
        into + f"SELECT 'day', day, distributor_id, {sums} FROM ("
        f"SELECT {day('o.created_at_shop')} AS day, o.distributor_id AS distributor_id, "
        "count(*) AS orders, sum(o.net_total) AS sales, "
        f"sum(CASE WHEN {qualifies} THEN 1 ELSE 0 END) AS qualifying_orders, "
        f"sum(CASE WHEN {qualifies} THEN o.net_total ELSE 0 END) AS qualifying_sales, "
        f"{zeros} FROM orders o WHERE o.distributor_id IS NOT NULL "
        "AND o.status NOT IN ('cancelled', 'failed', 'refunded', 'trash', 'deleted') "
        "GROUP BY 1, 2 UNION ALL "
        f"SELECT {day('c.order_created_at')}, c.beneficiary_id, 0, 0, 0, 0, {by_state} "
        "FROM commissions c GROUP BY 1, 2) AS k GROUP BY day, distributor_id",
        into + f"SELECT 'day', start, 0, {sums} FROM report_rollups "
        "WHERE span = 'day' GROUP BY start",
    ]


def upgrade():
    op.create_table(
        "report_rollups",
        sa.Column("span", sa.String(length=5), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("sales", MONEY, nullable=False),
        sa.Column("qualifying_orders", sa.Integer(), nullable=False),
        sa.Column("qualifying_sales", MONEY, nullable=False),
        *(sa.Column(state, MONEY, nullable=False) for state in STATES),
        sa.PrimaryKeyConstraint("span", "start", "distributor_id"),
    )
    op.create_index(
        "ix_report_rollups_best", "report_rollups", ["span", "start", sa.text("sales DESC")]
    )
    op.create_index(
        "ix_report_rollups_distributor", "report_rollups", ["distributor_id", "span", "start"]
    )
    op.create_table(
        "report_due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_click_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in PG_CLICKS if postgres else SQLITE_CLICKS:
        op.execute(statement)
    for table, spec in SOURCES.items():
        for statement in (_pg_statements if postgres else _sqlite_statements)(table, spec):
            op.execute(statement)
    columns = ", ".join(VALUES)
    sums = ", ".join(f"sum({v})" for v in VALUES)
    for statement in _backfill(_pg_day if postgres else _sqlite_day):
        op.execute(statement)
    for span in ("month", "year"):
        start = (
            f"date_trunc('{span}', start)::date" if postgres else f"date(start, 'start of {span}')"
        )
        op.execute(
            f"INSERT INTO report_rollups (span, start, distributor_id, {columns}) "
            f"SELECT '{span}', {start}, distributor_id, {sums} FROM report_rollups "
            "WHERE span = 'day' GROUP BY 2, distributor_id"
        )


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in SOURCES:
        if postgres:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS report_due_{table}_{event} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS report_due_{table}()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS report_due_{table}_{event}")
    if postgres:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS report_click_days_{event} ON clicks")
        op.execute("DROP FUNCTION IF EXISTS report_click_days_reopen()")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS report_click_days_{event}")
    op.drop_table("report_click_days")
    op.drop_table("report_due")
    op.drop_index("ix_report_rollups_distributor", table_name="report_rollups")
    op.drop_index("ix_report_rollups_best", table_name="report_rollups")
    op.drop_table("report_rollups")
