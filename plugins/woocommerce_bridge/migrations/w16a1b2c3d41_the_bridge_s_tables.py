"""The bridge's tables, on a migration branch of their own

Revision ID: w16a1b2c3d41
Revises:
Create Date: 2026-12-03 15:00:00.000000

The base of the bridge's own migration branch. Before it had one, the core's revisions
created these tables (f5b89f74beed … e5b2d8f1a3c6), so a database migrated then already
has them, whole or — stopped at an older revision — without the columns and indexes added
later: each table is created when it is missing, and otherwise given what it lacks (only
nullable columns were ever added). A fresh database gets them all from here.
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "w16a1b2c3d41"
down_revision = None
branch_labels = ("woocommerce_bridge",)
depends_on = "e20d5e6f7a81"


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# table → (its columns, primary key first; its indexes: name → columns)
TABLES: dict[str, tuple[Callable[[], list[sa.Column]], dict[str, list[str]]]] = {
    "woo_inbox": (
        lambda: [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("delivery_id", sa.String(length=128), nullable=True),
            sa.Column("webhook_id", sa.String(length=32), nullable=True),
            sa.Column("topic", sa.String(length=64), nullable=False),
            sa.Column("headers", sa.JSON(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            _time("received_at", nullable=False),
            _time("processed_at"),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            _time("failed_at"),
            sa.Column("shop_order_id", sa.String(length=64), nullable=True),
        ],
        {
            "ix_woo_inbox_pending": ["processed_at", "id"],
            "ix_woo_inbox_shop_order_id": ["shop_order_id"],
        },
    ),
    "woo_refunds": (
        lambda: [
            sa.Column("refund_id", sa.String(length=64), nullable=False),
            sa.Column("shop_order_id", sa.String(length=64), nullable=False),
            sa.Column("amount", sa.String(length=32), nullable=False),
            sa.Column("has_lines", sa.Boolean(), nullable=False),
            sa.Column("goods", sa.JSON(), nullable=False),
            _time("read_at", nullable=False),
        ],
        {"ix_woo_refunds_shop_order_id": ["shop_order_id"]},
    ),
    "woo_sync_state": (
        lambda: [
            sa.Column("id", sa.Integer(), nullable=False),
            _time("orders_modified_after"),
            _time("last_run_at"),
            sa.Column("last_orders", sa.Integer(), nullable=False),
            sa.Column("last_products", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("gone_checked_after", sa.Integer(), nullable=True),
            sa.Column("customers_checked_after", sa.Integer(), nullable=True),
        ],
        {},
    ),
    "woo_connection": (
        lambda: [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("store_url", sa.String(length=255), nullable=True),
            sa.Column("consumer_key", sa.Text(), nullable=True),
            sa.Column("consumer_secret", sa.Text(), nullable=True),
            sa.Column("webhook_secret", sa.Text(), nullable=True),
            sa.Column("signin_secret", sa.Text(), nullable=True),
            _time("connected_at"),
            sa.Column("delivery_url", sa.String(length=255), nullable=True),
            sa.Column("auth", sa.String(length=16), nullable=True),
            _time("checked_at"),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("webhooks", sa.JSON(), nullable=False),
            _time("webhooks_read_at"),
            _time("webhooks_since"),
            sa.Column("unauthorized", sa.Integer(), nullable=False),
            _time("unauthorized_since"),
            _time("last_unauthorized_at"),
        ],
        {},
    ),
    "woo_rest_finds": (
        lambda: [
            sa.Column("shop_order_id", sa.String(length=64), nullable=False),
            _time("delivery_after", nullable=False),
            _time("found_at", nullable=False),
        ],
        {"ix_woo_rest_finds_found_at": ["found_at"]},
    ),
    "woo_signin_nonces": (
        lambda: [
            sa.Column("nonce", sa.String(length=64), nullable=False),
            _time("expires_at", nullable=False),
        ],
        {"ix_woo_signin_nonces_expires_at": ["expires_at"]},
    ),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for name, (columns, indexes) in TABLES.items():
        if not inspector.has_table(name):
            defined = columns()
            primary_key = sa.PrimaryKeyConstraint(defined[0].name, name=f"pk_{name}")
            op.create_table(name, *defined, primary_key)
            present_indexes: set[str] = set()
        else:
            present = {column["name"] for column in inspector.get_columns(name)}
            missing = [column for column in columns() if column.name not in present]
            if missing:
                with op.batch_alter_table(name) as batch_op:
                    for column in missing:
                        batch_op.add_column(column)
            present_indexes = {index["name"] for index in inspector.get_indexes(name)}
        for index, indexed in indexes.items():
            if index not in present_indexes:
                op.create_index(index, name, indexed)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)  # its indexes go with it
