"""What a plugin brings to the core, registered from its ``load(app)``: its templates, its
migration branch, its links in the admin menu, and — for a shop bridge — the shop.

The core knows a plugin only through these registrations: it never imports or names one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from flask import Flask, current_app, has_app_context
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader

MIGRATIONS = "portal.plugin_migrations"
ADMIN_LINKS = "portal.admin_links"


def add_templates(app: Flask, folder: str | Path) -> None:
    """Templates found after the core's (a core template of the same name wins); a plugin
    keeps its own under a folder named after it, so none can shadow another's."""
    loaders: list[BaseLoader] = [FileSystemLoader(str(folder))]
    if app.jinja_loader is not None:
        loaders.insert(0, app.jinja_loader)
    app.jinja_loader = ChoiceLoader(loaders)  # type: ignore[method-assign,assignment]


def add_migrations(app: Flask, folder: str | Path) -> None:
    """A migration branch of the plugin's own (Alembic ``version_locations``): its tables
    come and go with its revisions, which carry a branch label and depend on the core
    revision they need. ``portal db upgrade`` applies every branch (``heads``)."""
    app.extensions.setdefault(MIGRATIONS, []).append(str(folder))


def version_locations(config: Config) -> Config:
    """Flask-Migrate's configure callback: the core's versions and every plugin branch."""
    if has_app_context():
        extra = current_app.extensions.get(MIGRATIONS, [])
        if extra:
            core = str(Path(config.get_main_option("script_location") or "") / "versions")
            config.set_main_option("path_separator", "os")
            config.set_main_option("version_locations", os.pathsep.join([core, *extra]))
    return config


@dataclass(frozen=True)
class AdminLink:
    endpoint: str
    label: Any  # a lazy gettext string: shown in the page's language


def add_admin_link(app: Flask, endpoint: str, label: Any) -> None:
    """A link in the staff menu, after the core's links that ops see too."""
    app.extensions.setdefault(ADMIN_LINKS, []).append(AdminLink(endpoint, label))


def admin_links() -> list[AdminLink]:
    return list(current_app.extensions.get(ADMIN_LINKS, []))


@dataclass(frozen=True)
class Shop:
    """The shop the portal sells through, as its bridge plugin describes it."""

    kind: str  # stored in ``orders.shop`` for its orders
    url_key: str = ""  # the config key a deployment sets the shop's address with


# Orders are described and stored outside requests too (jobs, the CLI, tests), and their
# dataclass and column defaults need the shop's kind: it is known process-wide, as the
# models are. One shop per process; a portal without a shop bridge stores "shop".
NO_SHOP = Shop(kind="shop")
_shop: Shop = NO_SHOP


def register_shop(shop: Shop) -> None:
    global _shop
    _shop = shop


def shop() -> Shop:
    return _shop


def shop_kind() -> str:
    """``orders.shop`` of the registered shop's orders (the dataclass and column default)."""
    return _shop.kind


def configured_shop_url(app: Flask | None = None) -> str:
    """The shop's address as the deployment sets it (empty: take the recorded one)."""
    config = (app or current_app).config
    return str(config.get(_shop.url_key, "")) if _shop.url_key else ""
