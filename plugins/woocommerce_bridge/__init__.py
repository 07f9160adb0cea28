"""WooCommerce bridge: signed webhooks into an inbox, drained into orders and commissions.

Found in the ``plugins`` namespace and loaded by name when the app starts (or listed in
``PORTAL_PLUGINS``); the core never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l

from portal import inputs, jobs, metrics, registry

HERE = Path(__file__).resolve().parent
# The shop as the core knows it: the kind stored on its orders and the setting that gives
# its address (short links, the page policy and the password policy read it).
SHOP = registry.Shop(kind="woocommerce", url_key="WOO_STORE_URL")


def configure(app: Flask, env: Mapping[str, str] = os.environ) -> None:
    """The bridge's settings (README, "Configuration") from the environment; values
    already in the config (a test's overrides) win."""
    from plugins.woocommerce_bridge.credentials import ENVIRONMENT

    for name in ENVIRONMENT.values():
        app.config.setdefault(name, env.get(name, ""))


def load(app: Flask) -> None:
    import plugins.woocommerce_bridge.models  # noqa: F401  (registers the plugin's tables)
    from plugins.woocommerce_bridge import (
        admin,
        cli,
        health,
        hooks,
        inbox,
        signin,
        store_credit,
        sync,
        webhooks,
    )
    from portal.withdrawals import credit

    configure(app)
    registry.register_shop(SHOP)
    registry.add_templates(app, HERE / "templates")
    registry.add_migrations(app, HERE / "migrations")
    registry.add_admin_link(app, "admin_shop.connection", _l("Shop"))
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(signin.bp)
    app.register_blueprint(admin.admin)
    inputs.forms_checked(app, admin.admin.name)  # its forms are portal.forms.Form
    # Anything stored while the queue was unreachable is processed within a minute.
    jobs.every(
        app,
        60,
        inbox.drain,
        name="woocommerce.drain",
        timeout=inbox.DRAIN_TIMEOUT,
        queue=jobs.INTAKE,
    )
    jobs.every(
        app,
        900,
        sync.periodic_reconcile,
        name="woocommerce.reconcile",
        timeout=sync.RECONCILE_TIMEOUT,
    )
    jobs.every(app, 3600, signin.purge_nonces, name="woocommerce.signin_nonces", timeout=300)
    hooks.connect(app)
    credit.register_issuer(app, store_credit.WooStoreCredit())
    app.cli.add_command(cli.woo)
    metrics.add_gauges(app, health.gauges)
