"""WooCommerce bridge: signed webhooks into an inbox, drained into orders and commissions.

Found in the ``plugins`` namespace and loaded by name when the app starts (or listed in
``PORTAL_PLUGINS``); the core never imports it.
"""

from __future__ import annotations

from flask import Flask

from portal import inputs, jobs, metrics


def load(app: Flask) -> None:
    import plugins.woocommerce_bridge.models  # noqa: F401  (registers the inbox table)
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
