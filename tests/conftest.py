"""Shared fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL),
migrated once per session with the real migrations, emptied after every test.

Services that are absent make their tests skip with a reason — except under ``CI=true``,
where an absent service is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from portal import create_app
from portal.accounts.models import Role, User
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.timeutil import utcnow
from tests.helpers import PASSWORD, TEST_SECRET, login, read_emails, unavailable


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("instance"))
    os.environ["PORTAL_INSTANCE_PATH"] = path
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")
    return url


@pytest.fixture(scope="session")
def app_config(database_url: str, instance_path: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": None,
        "SERVER_NAME": None,
        "PORTAL_QUEUE": f"portal-test-{os.getpid()}",
    }


@pytest.fixture(scope="session")
def app(app_config: dict[str, Any]) -> Flask:
    app = create_app(app_config)
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            unavailable(f"database {db.engine.url.render_as_string()} unreachable: {exc.orig}")
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    return app


def _empty_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            names = ", ".join(t.name for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            # The append-only triggers refuse DELETE: lift them while emptying.
            triggers = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _sql in triggers:
                conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
            for table in tables:
                conn.execute(table.delete())
            for _name, sql in triggers:
                conn.execute(sa.text(sql))


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    yield
    with app.app_context():
        db.session.remove()
        _empty_tables()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def outbox(
    app: Flask, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], list[Any]]:
    """Emails go to a file; calling the fixture's value reads them back (oldest first)."""
    path = tmp_path_factory.mktemp("outbox") / "mail"
    monkeypatch.setitem(app.config, "PORTAL_MAIL_SENDER", "file")
    monkeypatch.setitem(app.config, "PORTAL_MAIL_FILE", str(path))
    return lambda: read_emails(path)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., int]:
    def factory(email: str, role: Role = Role.ADMIN, password: str = PASSWORD) -> int:
        with app.app_context():
            user = User(email=email, role=role)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def make_distributor(app: Flask) -> Callable[..., tuple[int, str]]:
    """Create a distributor; returns (distributor id, referral code)."""

    def factory(
        email: str,
        status: DistributorStatus = DistributorStatus.ACTIVE,
        parent_id: int | None = None,
        password: str = PASSWORD,
        name: str = "Test Distributor",
    ) -> tuple[int, str]:
        with app.app_context():
            user = User(email=email, role=Role.DISTRIBUTOR)
            user.set_password(password)
            distributor = Distributor(
                user=user,
                code=codes.generate(),
                display_name=name,
                status=status,
                role=DistributorRole.AFFILIATE,
                parent_id=parent_id,
                joined_at=utcnow() if status is DistributorStatus.ACTIVE else None,
            )
            db.session.add(distributor)
            db.session.commit()
            return distributor.id, distributor.code

    return factory


@pytest.fixture
def admin_client(client: FlaskClient, make_user: Callable[..., int]) -> FlaskClient:
    make_user("admin@shop.example", Role.ADMIN)
    assert login(client, "admin@shop.example").status_code == 302
    return client


# --- Redis --------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {url} unreachable: {exc}")
    conn.flushdb()
    yield url
    conn.flushdb()
