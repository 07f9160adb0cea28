"""``portal woo …`` commands."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from plugins.woocommerce_bridge import sync
from plugins.woocommerce_bridge.client import WooError
from portal import transactions


@click.group("woo")
def woo() -> None:
    """WooCommerce: reconcile orders and products over the REST API."""


@woo.command("sync")
@click.option("--since", help="ISO date/time (UTC): orders modified after it.")
@click.option("--full", is_flag=True, help="Every order, ignoring the watermark.")
@with_appcontext
def sync_command(since: str | None, full: bool) -> None:
    """Page through the shop's products and orders; safe to repeat and to interrupt."""
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise click.ClickException(f"--since is not an ISO date: {since!r}") from None
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    try:
        with transactions.unit():
            report = sync.reconcile(full=full, since=start)
    except WooError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"synced {report.products} product(s), {report.orders} order(s), {report.changed} changed"
    )
