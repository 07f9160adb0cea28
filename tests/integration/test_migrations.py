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
        upgrade(directory=directory)
        downgrade(directory=directory, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade(directory=directory)
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
        upgrade(directory=directory)
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
