"""The schema comes from migrations only: they must produce exactly what the models say."""

from __future__ import annotations

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
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for table in db.metadata.sorted_tables:
            indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name)}
            indexed |= {
                tuple(uc["column_names"]) for uc in inspector.get_unique_constraints(table.name)
            }
            for fk in table.foreign_keys:
                assert (fk.parent.name,) in indexed, f"{table.name}.{fk.parent.name} has no index"


def test_downgrade_and_upgrade_round_trip(app_config, tmp_path) -> None:
    fresh = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/rt.db"})
    with fresh.app_context():
        directory = fresh.extensions["migrate"].directory
        upgrade(directory=directory)
        downgrade(directory=directory, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) == {"alembic_version"}
        upgrade(directory=directory)
    assert _diff(fresh) == []
