"""Extension singletons, initialised in :func:`portal.create_app`."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_migrate import cli as migrate_cli
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal import registry

# Stable constraint names: Alembic can then alter them on SQLite (batch mode) and
# PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
migrate.configure(registry.version_locations)
# Plugins bring migration branches of their own, each a head: ``portal db upgrade``
# (Flask-Migrate's "head" by default) applies all of them.
for _param in migrate_cli.upgrade.params:
    if _param.name == "revision":
        _param.default = "heads"
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()
