import os
import stat

import pytest

from portal.config import from_environment, instance_secret_key, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_use_psycopg3(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_secret_key_is_generated_once_and_private(tmp_path) -> None:
    first = instance_secret_key(str(tmp_path))
    second = instance_secret_key(str(tmp_path))
    assert first == second
    assert len(first) >= 64
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_environment_is_read(tmp_path) -> None:
    env = {
        "DATABASE_URL": "postgresql://p@db/portal",
        "REDIS_URL": "redis://r:6379/2",
        "PORTAL_QUEUE": "shop-a",
        "SECRET_KEY": "from-env",
        "PORTAL_BASE_URL": "https://portal.example/",
    }
    cfg = from_environment(str(tmp_path), env)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://p@db/portal"
    assert cfg["REDIS_URL"] == "redis://r:6379/2"
    assert cfg["PORTAL_QUEUE"] == "shop-a"
    assert cfg["SECRET_KEY"] == "from-env"
    assert cfg["PORTAL_BASE_URL"] == "https://portal.example"
    assert not (tmp_path / "secret_key").exists()


def test_defaults_keep_everything_in_the_instance_folder(tmp_path) -> None:
    cfg = from_environment(str(tmp_path), {})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/portal.db"
    assert cfg["REDIS_URL"] is None
    assert cfg["PORTAL_QUEUE"] == "portal"
    assert cfg["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
