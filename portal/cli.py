"""The ``portal`` console script: a Flask CLI group bound to :func:`portal.create_app`.

Flask-Migrate contributes ``portal db …``; plugins add their own groups from ``load``.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from portal import create_app, demo, jobs, transactions
from portal.accounts import services as accounts
from portal.accounts.forms import email_errors
from portal.accounts.models import Role
from portal.extensions import db


def _serve(host: str, port: int, debug: bool) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["REDIS_URL"]:
        jobs.Ticker(app).start()
        click.echo("Jobs run in-process (REDIS_URL is not set).")
    # app.run() refuses to serve from inside a Flask CLI command; call Werkzeug directly.
    run_simple(host, port, app, use_debugger=debug, threaded=True)


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def cli() -> None:
    """Distribution portal: run it, seed a demo, manage users and jobs."""


cli.add_command(shell_command)
cli.add_command(routes_command)


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Werkzeug debugger (never in production).")
@with_appcontext
def run_command(host: str, port: int, debug: bool) -> None:
    """Serve the portal with the development server (production: gunicorn wsgi:app)."""
    _serve(host, port, debug)


@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed, then exit.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create and migrate the database, seed a demo programme, print logins, serve."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    if demo.is_seeded():
        click.echo("Database already has data; not seeding again.")
        logins = [
            demo.DemoLogin("admin", *demo.ADMIN_LOGIN),
            demo.DemoLogin("ops", *demo.OPS_LOGIN),
        ]
    else:
        with transactions.unit():
            logins = demo.seed()
        click.echo("Seeded the demo programme.")
    click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)}")
    for login in logins:
        click.echo(f"  {login.label:<12} {login.email:<40} {login.password}")
    if not no_serve:
        if not current_app.config["WOO_STORE_URL"]:
            # Short links need a shop to send visitors to; the demo's is made up.
            current_app.config["WOO_STORE_URL"] = demo.SHOP_URL
            click.echo(f"Short links redirect to {demo.SHOP_URL} (set WOO_STORE_URL).")
        click.echo(f"Open http://{host}:{port}/login")
        _serve(host, port, False)


@cli.command("create-admin")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "ops"]), default="admin", show_default=True)
@click.password_option(help="Prompted for when omitted.")
@with_appcontext
def create_admin_command(email: str, role: str, password: str) -> None:
    """Create an admin (or ops) user."""
    problems = email_errors(email)
    if problems:
        raise click.ClickException(f"not an email address the login form takes: {email!r}")
    try:
        with transactions.unit():
            user = accounts.create_user(email, password, Role(role))
    except accounts.AccountError as exc:
        raise click.ClickException(f"{email}: {exc.message}") from None
    click.echo(f"Created {user.role.value} {user.email}")


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queue",
    "-q",
    "queues",
    multiple=True,
    type=click.Choice(jobs.QUEUES),
    help="A queue to work (repeatable; default: intake, then background).",
)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker (with scheduler and periodic jobs). Needs REDIS_URL.

    Intake (shop deliveries, commission booking) is always taken before background work
    (periodic jobs, emails, shop pushes) by a worker given both."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["REDIS_URL"]:
        raise click.ClickException(
            "REDIS_URL is not set: jobs already run in-process, no worker is needed"
        )
    if not jobs.redis_ok():
        raise click.ClickException(f"cannot reach Redis at {app.config['REDIS_URL']}")
    jobs.run_worker(app, burst=burst, queues=queues or jobs.QUEUES)


@cli.group("api-token")
def api_token_group() -> None:
    """Bearer tokens for the read-only /api/v1."""


@api_token_group.command("create")
@click.argument("name")
@with_appcontext
def api_token_create_command(name: str) -> None:
    """Create a token and print it (it is shown only this once)."""
    from portal.api import services as api

    try:
        with transactions.unit():
            token = api.create_token(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


@cli.group("ledger")
def ledger_group() -> None:
    """Inspect the money ledger."""


@ledger_group.command("verify")
@click.option(
    "--grace",
    default=600,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seconds an order may wait for its commission run before it is reported.",
)
@with_appcontext
def ledger_verify_command(grace: int) -> None:
    """Recompute every balance from the entries, and find orders whose commissions never
    ran; exit 1 on any problem."""
    from portal.commissions import sweep
    from portal.ledger import services as ledger
    from portal.withdrawals import credit

    problems = ledger.verify() + credit.verify() + sweep.overdue(timedelta(seconds=grace))
    for problem in problems[:50]:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"ledger verify: {len(problems)} problem(s)")
    click.echo("ledger verify: ok")


@cli.group("jobs")
def jobs_group() -> None:
    """Run periodic jobs by hand."""


@jobs_group.command("mature")
@with_appcontext
def jobs_mature_command() -> None:
    """Move commissions whose return window has passed from holding to available."""
    from portal.commissions.jobs import mature_commissions

    with transactions.unit():
        matured = mature_commissions()
    click.echo(f"matured {matured} commission(s)")


def main() -> None:
    cli.main(prog_name="portal", args=sys.argv[1:])


if __name__ == "__main__":
    main()
