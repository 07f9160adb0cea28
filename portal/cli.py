"""The ``portal`` console script: a Flask CLI group bound to :func:`portal.create_app`.

Flask-Migrate contributes ``portal db …``; plugins add their own groups from ``load``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from portal import create_app, demo, jobs, registry, transactions
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
    upgrade(directory=current_app.extensions["migrate"].directory, revision="heads")
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
        key = registry.shop().url_key
        if key and not current_app.config[key]:
            # Short links need a shop to send visitors to; the demo's is made up.
            current_app.config[key] = demo.SHOP_URL
            click.echo(f"Short links redirect to {demo.SHOP_URL} (set {key}).")
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


@cli.group("orders")
def orders_group() -> None:
    """Work on stored orders."""


@orders_group.command("reassign")
@click.option("--to", "to_code", help="Referral code to credit the orders to.")
@click.option("--from", "from_code", help="Move every order credited now to this code.")
@click.option("--ids", help="Order ids (as in /admin/orders/<id>), comma-separated.")
@click.option(
    "--csv",
    "csv_file",
    type=click.File(encoding="utf-8"),
    help="Each order to its own: lines of 'order id,referral code'.",
)
@click.option("--reason", required=True, help="Kept in the audit log of every order.")
@click.option("--yes", is_flag=True, help="Do not ask before re-assigning.")
@with_appcontext
def orders_reassign_command(
    to_code: str | None,
    from_code: str | None,
    ids: str | None,
    csv_file: Any,
    reason: str,
    yes: bool,
) -> None:
    """Re-assign many orders at once, in batches (commissions recomputed, paid ones carried
    as negatives, every order audited): --ids and/or --from with --to, or --csv."""
    import csv

    from portal.commissions import reassign

    moves: dict[int, str] = {}
    try:
        if csv_file is not None:
            for row in csv.reader(csv_file):
                if row and row[0].strip():
                    moves[int(row[0])] = row[1]
        chosen = [int(part) for part in (ids or "").split(",") if part.strip()]
    except (ValueError, IndexError):
        raise click.ClickException("order ids are numbers; CSV lines are 'id,code'") from None
    if from_code:
        chosen += reassign.orders_of(from_code)
    if chosen and not to_code:
        raise click.ClickException("--ids and --from need --to")
    moves |= dict.fromkeys(chosen, to_code or "")
    if not moves:
        raise click.ClickException("no orders: give --ids, --from or --csv")
    targets = sorted({code.strip().upper() for code in moves.values()})
    if not yes:
        click.confirm(
            f"Re-assign {len(moves)} order(s) to {', '.join(targets)}? Their commissions are "
            "recomputed; one already paid is carried as a negative into the next payout.",
            abort=True,
        )
    try:
        done = reassign.reassign_many(moves, reason, None)
    except reassign.ReassignError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"re-assigned {len(done.moved)}, already there {len(done.unchanged)}, "
        f"not found {len(done.missing)}; paid commissions carried as negatives: "
        f"{done.paid_carried}"
    )


@cli.group("reports")
def reports_group() -> None:
    """Maintain the admin reports' rollups."""


@reports_group.command("rebuild")
@with_appcontext
def reports_rebuild_command() -> None:
    """Recompute every report rollup from the orders and commissions (one transaction;
    commits that change orders meanwhile wait for it)."""
    from portal.extensions import db
    from portal.reports import rollups

    with transactions.unit():
        days = rollups.rebuild(db.session)
    click.echo(f"reports rebuild: {days} distributor day(s)")


def main() -> None:
    cli.main(prog_name="portal", args=sys.argv[1:])


if __name__ == "__main__":
    main()
