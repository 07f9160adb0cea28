"""The shop plugin plugs in only through portal.registry: its templates, its migration
branch, its settings and its link in the staff menu come with it, and the core works
without it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from plugins import woocommerce_bridge
from portal import create_app, registry
from portal.accounts.models import Role
from portal.extensions import migrate
from portal.paths import resource_dir
from tests.helpers import login

BRIDGE_TEMPLATES = woocommerce_bridge.HERE / "templates" / "woocommerce_bridge"


def test_the_bridge_reads_its_settings_in_load_and_overrides_win() -> None:
    app = Flask(__name__)
    app.config["WOO_CONSUMER_KEY"] = "from-a-test"
    env = {"WOO_STORE_URL": "https://shop.example", "WOO_CONSUMER_KEY": "ck"}
    woocommerce_bridge.configure(app, env)
    assert app.config["WOO_STORE_URL"] == "https://shop.example"
    assert app.config["WOO_CONSUMER_KEY"] == "from-a-test"
    assert app.config["WOO_CONSUMER_SECRET"] == app.config["WOO_WEBHOOK_SECRET"] == ""
    assert app.config["WOO_SIGNIN_SECRET"] == ""


def test_without_the_plugin_the_core_has_none_of_its_settings_pages_or_links(
    app_config, make_user
) -> None:
    bare = create_app({**app_config, "PORTAL_PLUGINS": ()})
    assert not [name for name in bare.config if name.startswith("WOO_")]
    assert "admin_shop.connection" not in bare.view_functions
    assert bare.extensions.get(registry.MIGRATIONS) is None
    make_user("admin@shop.example", Role.ADMIN)
    client = bare.test_client()
    assert login(client, "admin@shop.example").status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "/admin/shop" not in page


def test_the_plugin_links_its_page_from_the_staff_menu(app: Flask, admin_client) -> None:
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/shop">Shop</a>' in page


def test_the_shop_pages_render_from_the_plugin_templates(
    app: Flask, admin_client: FlaskClient
) -> None:
    assert admin_client.get("/admin/shop").status_code == 200
    fragment = admin_client.get("/admin/shop", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert 'id="deliveries"' in fragment.get_data(as_text=True)


def test_the_core_templates_keep_none_of_the_plugin_templates() -> None:
    core = resource_dir("templates")
    moved = sorted(path.name for path in BRIDGE_TEMPLATES.glob("*.html"))
    assert moved == ["_deliveries.html", "_delivery_row.html", "_shop_test.html", "shop.html"]
    assert not [name for name in moved if (core / "admin" / name).exists()]  # where they were


def test_migrations_see_the_plugin_branch(app: Flask) -> None:
    with app.app_context():
        config = migrate.get_config()
    locations = config.get_main_option("version_locations") or ""
    assert str(woocommerce_bridge.HERE / "migrations") in locations
    assert str(Path(migrate.directory) / "versions") in locations
