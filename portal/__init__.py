"""Distribution portal: the Flask application factory."""

from __future__ import annotations

import hmac
import os
import pkgutil
from collections.abc import Mapping
from datetime import timedelta
from importlib import import_module
from typing import Any

from flask import Flask, Response, flash, redirect, request
from flask_babel import gettext as _
from flask_login.utils import login_url
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as config_module
from portal import inputs, logs, metrics, registry, security
from portal.extensions import babel, csrf, db, htmx, login_manager, migrate
from portal.paths import resource_dir

# Plugins are the packages in this namespace package, found and loaded by name when the app
# starts (each exposes load(app)), so the core names none of them. PORTAL_PLUGINS, a list
# of module names, picks others instead (tests, a deployment without a shop bridge).
PLUGIN_NAMESPACE = "plugins"


def discover_plugins() -> tuple[str, ...]:
    """Every plugin package installed beside the portal, sorted by name."""
    try:
        namespace = import_module(PLUGIN_NAMESPACE)
    except ModuleNotFoundError:
        return ()
    found = pkgutil.iter_modules(namespace.__path__, f"{PLUGIN_NAMESPACE}.")
    return tuple(sorted(module.name for module in found if module.ispkg))


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment; ``overrides`` (tests) win over it."""
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        config_module.from_environment(app.instance_path, os.environ),
        # Sign-in throttle (portal.accounts.throttle): free failures per (account,
        # address) and per address, then waits doubling from the first delay to the most.
        PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT=5,
        PORTAL_LOGIN_FREE_FAILURES_PER_IP=20,
        PORTAL_LOGIN_FIRST_DELAY=timedelta(seconds=30),
        PORTAL_LOGIN_MAX_DELAY=timedelta(hours=1),
        PORTAL_LOGIN_MEMORY=timedelta(days=1),
        # "Forgot password" requests per hour, per address and per email.
        PORTAL_RESET_MAX_PER_IP=10,
        PORTAL_RESET_MAX_PER_EMAIL=3,
        PORTAL_UNLOCK_TOKEN_AGE=timedelta(hours=1),
        REMEMBER_COOKIE_DURATION=timedelta(days=14),
        PORTAL_PLUGINS=discover_plugins(),
    )
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
                overrides["SQLALCHEMY_DATABASE_URI"]
            )

    app.wsgi_app = security.SecureCookies(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PORTAL_PROXY_COUNT"]:
        hops = app.config["PORTAL_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    inputs.init_app(app)
    _init_extensions(app)
    _register_blueprints(app)
    from portal import storefront  # imports models: not while this package initialises

    security.init_app(app, storefront.url)
    logs.init_app(app)
    metrics.init_app(app)
    _register_jobs(app)
    for name in app.config["PORTAL_PLUGINS"]:
        import_module(name).load(app)
    return app


def _init_extensions(app: Flask) -> None:
    from portal import i18n
    from portal.accounts.models import User

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)  # the switcher's route and the header's template values
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """``<user id>:<session version>`` (User.get_id): a session or remember cookie
        from before the version last changed names no user any more."""
        user_id, _sep, version = session_id.partition(":")
        if not (user_id.isdigit() and version.isdigit()):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not hmac.compare_digest(version, str(user.session_version)):
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized() -> Response:
        """Flask-Login's redirect to the login page, except that an htmx request (a row
        polling after the session ended) gets ``HX-Redirect``: the whole page goes to
        the login form instead of the form being swapped into the row."""
        target = login_url(login_manager.login_view, next_url=request.url)
        if request.headers.get("HX-Request"):
            return Response(status=401, headers={"HX-Redirect": target})
        flash(_("Please sign in to see this page."), "info")
        return redirect(target)

    # Models must be imported for metadata (migrations, create_all in tooling).
    import_module("portal.models")
    from portal.audit import services as audit
    from portal.centre import team
    from portal.commissions import verify as commission_checks
    from portal.distributors import services as distributors
    from portal.ledger import guard
    from portal.notifications import services as notifications
    from portal.pickup import services as pickup
    from portal.risk import devices, screening
    from portal.settings import services as settings

    guard.install()
    commission_checks.install()  # ledger verify checks commissions (ledger imports none)
    settings.install()  # the shop's default language (i18n does not import settings)
    audit.install()  # staff account changes (accounts does not import audit)
    distributors.install()  # names a password may not be (accounts does not import them)
    notifications.install()  # application decisions (distributors do not import them)
    team.install()
    devices.install()  # sign-ins record their devices (accounts does not import risk)
    screening.install()  # commission runs screen and hold orders (commissions import no risk)
    pickup.install()  # orders collected at pickup points (orders does not import pickup)


# The packages with pages, each exposing ``blueprints()``; their blueprints are named
# after who reaches them: ``public``, ``me`` (signed-in distributors), ``admin`` (staff).
DOMAINS = (
    "core",
    "accounts",
    "distributors",
    "centre",
    "links",
    "withdrawals",
    "campaigns",
    "notifications",
    "materials",
    "reports",
    "risk",
    "orders",
    "settings",
    "audit",
    "api",
    "commissions",
    "pickup",
)


def _register_blueprints(app: Flask) -> None:
    from portal.core.views import register_error_handlers
    from portal.notifications import views as notifications_views

    for domain in DOMAINS:
        for blueprint in import_module(f"portal.{domain}").blueprints():
            app.register_blueprint(blueprint)
    register_error_handlers(app)
    notifications_views.init_app(app)

    from portal import formatting
    from portal.centre import tabs
    from portal.commissions.labels import STATE_HELP, STATE_LABELS, ZERO_REASONS
    from portal.distributors.labels import ROLE_LABELS, STATUS_LABELS
    from portal.ledger.labels import BUCKET_LABELS, KIND_LABELS, reference_text
    from portal.orders.labels import (
        ATTRIBUTION_LABELS,
        ORDER_STATUS_LABELS,
        REFUND_RULES,
        evidence_items,
    )
    from portal.risk.labels import FLAG_STATUS_LABELS, RULE_LABELS

    app.jinja_env.globals.update(
        role_labels=ROLE_LABELS,
        status_labels=STATUS_LABELS,
        zero_reasons=ZERO_REASONS,
        state_labels=STATE_LABELS,
        state_help=STATE_HELP,
        attribution_labels=ATTRIBUTION_LABELS,
        order_status_labels=ORDER_STATUS_LABELS,
        refund_rules=REFUND_RULES,
        evidence_items=evidence_items,
        bucket_labels=BUCKET_LABELS,
        entry_kind_labels=KIND_LABELS,
        entry_reference=reference_text,
        risk_rule_labels=RULE_LABELS,
        risk_flag_labels=FLAG_STATUS_LABELS,
        distributor_tabs=tabs.TABS,
        distributor_nav=tabs.DESKTOP,
        current_nav=tabs.current,
        # The plugins' pages in the staff menu, as each plugin registers them.
        admin_links=registry.admin_links,
    )
    app.jinja_env.filters["money"] = formatting.money
    app.jinja_env.filters["percent"] = formatting.percent

    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        from flask_babel import get_locale

        return {"current_locale": str(get_locale())}


def _register_jobs(app: Flask) -> None:
    from portal import jobs
    from portal.accounts.mail import deliver_account_emails
    from portal.accounts.services import purge_old_login_failures
    from portal.campaigns.services import close_due_campaigns
    from portal.commissions.jobs import apply_due_commissions, mature_commissions
    from portal.distributors.buyers import recruit_buyers
    from portal.ledger.services import write_checkpoints
    from portal.levels.upgrades import upgrade_levels
    from portal.materials.services import announce_new_materials
    from portal.notifications.jobs import notify_available_commissions, notify_new_commissions
    from portal.notifications.mail import attach_to, deliver_emails
    from portal.notifications.models import NotificationKind
    from portal.withdrawals import credit, paypal, statements

    jobs.every(app, 3600, purge_old_login_failures, timeout=300)
    jobs.every(app, 300, mature_commissions, timeout=300)
    jobs.every(app, 60, apply_due_commissions, timeout=600, queue=jobs.INTAKE)
    jobs.every(app, 300, close_due_campaigns, timeout=600)
    jobs.every(app, 60, deliver_emails, timeout=300)
    jobs.every(app, 60, deliver_account_emails, timeout=300)
    jobs.every(app, 300, notify_available_commissions, timeout=300)
    jobs.every(app, 120, notify_new_commissions, timeout=300)
    # Resumable: a run stopped by its timeout is continued by the next one.
    jobs.every(app, 3600, upgrade_levels, timeout=900)
    # Batched with a 120 s budget per run; the next run goes on from its cursor.
    jobs.every(app, 600, write_checkpoints, timeout=600)
    jobs.every(app, 300, recruit_buyers, timeout=300)
    jobs.every(app, 300, announce_new_materials, timeout=300)
    jobs.every(app, 86400, statements.issue_last_month, timeout=3600)
    jobs.every(app, 300, paypal.poll, timeout=300)
    credit.connect(app)
    attach_to(app, NotificationKind.WITHDRAWAL_PAID, statements.attachments)
