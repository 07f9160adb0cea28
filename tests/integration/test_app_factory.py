from flask import Flask

from portal import create_app
from portal.extensions import db


def test_factory_reads_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.internal/portal")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app()
    assert app.instance_path == str(tmp_path)
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["REDIS_URL"] == "redis://127.0.0.1:6379/3"
    # No SECRET_KEY in the environment: one is generated into the instance folder.
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert create_app().config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    with app.app_context():
        assert db.engine.url.get_backend_name() == "sqlite"
        assert db.engine.url.database == str(tmp_path / "portal.db")


def test_healthz_reports_database(app: Flask, client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_reports_a_dead_redis(app_config, monkeypatch) -> None:
    broken = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["redis"] == "error"
    assert response.json["status"] == "error"


def test_healthz_with_a_live_redis(app_config, redis_url) -> None:
    live = create_app({**app_config, "REDIS_URL": redis_url})
    response = live.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["redis"] == "ok"


def test_unknown_page_is_a_friendly_404(client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "could not find" in response.get_data(as_text=True)


def test_vendored_htmx_is_served_locally(client) -> None:
    response = client.get("/static/js/htmx.min.js")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "htmx.org 2.0." in body.splitlines()[0]
    page = client.get("/login").get_data(as_text=True)
    assert "/static/js/htmx.min.js" in page
    assert "//unpkg" not in page and "cdn" not in page.lower()


def test_every_page_carries_the_security_headers(app, admin_client) -> None:
    for client, paths in (
        (app.test_client(), ["/", "/login", "/join", "/healthz", "/r/NOPE23"]),
        (admin_client, ["/admin/", "/admin/distributors", "/admin/withdrawals", "/admin/risk"]),
    ):
        for path in paths:
            response = client.get(path)
            policy = response.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, path
            assert "frame-ancestors 'none'" in policy, path
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert "Strict-Transport-Security" not in response.headers  # plain-HTTP config


def test_hsts_and_the_shop_images_follow_the_config(app) -> None:
    from portal import create_app

    secure = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")},
            "PORTAL_BASE_URL": "https://partners.example.com",
            "WOO_STORE_URL": "https://shop.example.com/",
        }
    )
    response = secure.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert (
        "img-src 'self' data: https://shop.example.com"
        in response.headers["Content-Security-Policy"]
    )


def test_the_shop_images_follow_the_recorded_shop_address(app) -> None:
    """Without WOO_STORE_URL the policy allows the address the shop plugin recorded
    (read through the app factory's ``security.init_app(app, storefront.url)``)."""
    from portal import storefront
    from portal.extensions import db

    with app.app_context():
        storefront.record(url="https://recorded-shop.example.net/")
        db.session.commit()
    policy = app.test_client().get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://recorded-shop.example.net" in policy
