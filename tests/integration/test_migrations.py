"""The schema comes from migrations only: they must produce exactly what the models say."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.extensions import db


def _diff(app: Flask) -> list[object]:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_database_matches_the_models(app: Flask) -> None:
    assert _diff(app) == []


def test_every_foreign_key_is_indexed(app: Flask) -> None:
    """By an index, unique key or primary key whose first column it is (a composite one
    serves lookups by its first column as well as an index of that column alone would)."""
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for table in db.metadata.sorted_tables:
            indexed = {ix["column_names"][0] for ix in inspector.get_indexes(table.name)}
            indexed |= {
                uc["column_names"][0] for uc in inspector.get_unique_constraints(table.name)
            }
            indexed |= set(inspector.get_pk_constraint(table.name)["constrained_columns"][:1])
            for fk in table.foreign_keys:
                assert fk.parent.name in indexed, f"{table.name}.{fk.parent.name} has no index"


def test_downgrade_and_upgrade_round_trip(app_config, tmp_path) -> None:
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/rt.db"})
    with fresh.app_context():
        directory = fresh.extensions["migrate"].directory
        upgrade(directory=directory, revision="heads")
        downgrade(directory=directory, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade(directory=directory, revision="heads")
    assert _diff(fresh) == []


def test_plans_frozen_on_orders_move_into_plan_versions_and_back(app_config, tmp_path) -> None:
    """7512e26bf1a0: each distinct plan inlined in an order's context becomes one plan
    version, named by the context; the downgrade inlines it again."""
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/pv.db"})
    plans = [{"role": "affiliate", "rates": ["10", "3", "1"]}, {"role": "agent", "rates": ["5"]}]
    contexts = [
        {"plan": plans[n % 2], "chain": [{"id": n}], "max_depth": 3, "currency": "USD"}
        for n in range(3)
    ]
    insert = sa.text(
        "INSERT INTO orders (id, shop, shop_order_id, status, currency, refunded_unallocated,"
        " net_total, created_at_shop, modified_at_shop, stored_at, commission_runs,"
        " commission_context) VALUES (:id, 'woocommerce', :id, 'processing', 'USD', 0, 0,"
        " '2026-11-01 10:00:00', '2026-11-01 10:00:00', '2026-11-01 10:00:00', 1, :ctx)"
    )
    read = sa.text("SELECT commission_context FROM orders ORDER BY id")
    with fresh.app_context():
        directory = fresh.extensions["migrate"].directory
        upgrade(directory=directory, revision="d21a1fed255f")
        with db.engine.begin() as conn:
            for n, ctx in enumerate([*contexts, None]):
                conn.execute(insert, {"id": n + 1, "ctx": None if ctx is None else json.dumps(ctx)})
        upgrade(directory=directory, revision="heads")
        with db.engine.connect() as conn:
            moved = [json.loads(c) if c else None for c in conn.scalars(read)]
            versions = dict(
                conn.execute(sa.text("SELECT id, plan FROM commission_plan_versions")).all()
            )
        assert moved[3] is None
        assert len(versions) == 2
        for ctx, old in zip(moved[:3], contexts, strict=True):
            assert "plan" not in ctx
            assert json.loads(versions[ctx["plan_version"]]) == old["plan"]
            assert {k: v for k, v in ctx.items() if k != "plan_version"} == {
                k: v for k, v in old.items() if k != "plan"
            }
        downgrade(directory=directory, revision="d21a1fed255f")
        with db.engine.connect() as conn:
            back = [json.loads(c) if c else None for c in conn.scalars(read)]
        assert back == [*contexts, None]


def test_auto_approval_becomes_the_open_recruitment_mode_and_back(app_config, tmp_path) -> None:
    """a7c3e9b5d2f4: a stored "approve automatically" becomes the mode ``open``."""
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/rm.db"})
    read = sa.text("SELECT key, value FROM settings ORDER BY key")
    with fresh.app_context():
        directory = fresh.extensions["migrate"].directory
        upgrade(directory=directory, revision="b3f8e1d2c4a7")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO settings (key, value, updated_at) VALUES"
                    " ('auto_approve_distributors', 'true', '2026-11-01 10:00:00')"
                )
            )
        upgrade(directory=directory, revision="a7c3e9b5d2f4")
        with db.engine.connect() as conn:
            assert [(k, json.loads(v)) for k, v in conn.execute(read)] == [
                ("recruitment_mode", "open")
            ]
        downgrade(directory=directory, revision="b3f8e1d2c4a7")
        with db.engine.connect() as conn:
            assert [(k, json.loads(v)) for k, v in conn.execute(read)] == [
                ("auto_approve_distributors", True)
            ]


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_the_shop_plugin_brings_its_tables_on_a_branch_of_its_own(app_config, tmp_path) -> None:
    """The core's revisions create none of the plugin's tables; its branch does, on top of
    the core revision it depends on."""
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/br.db"})
    plugin_tables = {t.name for t in db.metadata.sorted_tables if t.name.startswith("woo_")}
    assert plugin_tables == {
        "woo_inbox",
        "woo_refunds",
        "woo_sync_state",
        "woo_connection",
        "woo_rest_finds",
        "woo_signin_nonces",
    }
    with fresh.app_context():
        directory = fresh.extensions["migrate"].directory
        upgrade(directory=directory, revision="e20d5e6f7a81")  # the core's alone
    assert not _tables(fresh) & plugin_tables
    with fresh.app_context():
        upgrade(directory=directory, revision="woocommerce_bridge@head")
    assert plugin_tables <= _tables(fresh)
    with fresh.app_context():
        upgrade(directory=directory, revision="heads")  # and the core's later revisions
    assert _tables(fresh) == {t.name for t in db.metadata.sorted_tables}
    assert _diff(fresh) == []


# The plugin's tables as the core's revisions f5b89f74beed and 51a14a4624f0 created them,
# before they became the plugin's: without the columns later core revisions added (and
# without the inbox's indexes: the branch adds any that are missing too).
OLD = sa.MetaData()
sa.Table(
    "woo_inbox",
    OLD,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("delivery_id", sa.String(128)),
    sa.Column("webhook_id", sa.String(32)),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text()),
    sa.Column("shop_order_id", sa.String(64)),
    sa.PrimaryKeyConstraint("id", name="pk_woo_inbox"),
)
sa.Table(
    "woo_sync_state",
    OLD,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("orders_modified_after", sa.DateTime(timezone=True)),
    sa.Column("last_run_at", sa.DateTime(timezone=True)),
    sa.Column("last_orders", sa.Integer(), nullable=False),
    sa.Column("last_products", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.PrimaryKeyConstraint("id", name="pk_woo_sync_state"),
)


def test_a_database_migrated_by_the_old_chain_upgrades_to_both_heads(app_config, tmp_path) -> None:
    """One migrated to the end when the core still made the plugin's tables: they are
    kept, rows and all."""
    old = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/old.db"})
    with old.app_context():
        directory = old.extensions["migrate"].directory
        upgrade(directory=directory, revision="e20d5e6f7a81")
        plugin = [t for t in db.metadata.sorted_tables if t.name.startswith("woo_")]
        db.metadata.create_all(db.engine, tables=plugin)  # what the old chain left
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO woo_connection (id, webhooks, unauthorized) VALUES (1, '[]', 3)"
                )
            )
        upgrade(directory=directory, revision="heads")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT unauthorized FROM woo_connection")) == 3
    assert _diff(old) == []


def test_a_database_stopped_early_in_the_old_chain_gets_the_later_columns(
    app_config, tmp_path
) -> None:
    """One stopped at 51a14a4624f0 has the inbox and sync state without the columns and
    indexes added after: the plugin's branch adds them and creates the other tables."""
    old = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/early.db"})
    with old.app_context():
        directory = old.extensions["migrate"].directory
        upgrade(directory=directory, revision="51a14a4624f0")
        OLD.create_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO woo_inbox (id, topic, headers, body, received_at, attempts)"
                    " VALUES (7, 'order.updated', '{}', '{}', '2026-11-25 03:00:00', 0)"
                )
            )
        upgrade(directory=directory, revision="heads")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, failed_at FROM woo_inbox")).all() == [(7, None)]
    assert _diff(old) == []
