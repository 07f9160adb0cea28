"""REST reconciliation: how nothing gets lost when a webhook delivery does.

WooCommerce never retries a failed delivery, so every 15 minutes (and on ``portal woo
sync``) the portal pages through orders modified since its watermark — the trash too —
and takes them through the same core intake as deliveries: idempotent, so overlap is
harmless; a page of 100 in one transaction with its commissions, an order that fails
kept as a failed delivery so the sync goes on. The watermark moves after each page, so
an interrupted sync resumes where it stopped. Orders deleted for good send no webhook:
:func:`check_gone` asks the shop about quiet stored orders in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from plugins.woocommerce_bridge import (
    connection,
    coupons,
    credentials,
    customers,
    health,
    inbox,
    lookups,
    mapping,
)
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooSyncState
from portal import intake, storefront
from portal.catalogue.models import Product
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.models import EARNING_STATUSES, Order
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
# Orders modified in the same second as the watermark may straddle two pages: re-read a
# little; storing is idempotent, and a re-read copy of the same second with other content
# is taken (the shop's current state wins over a delivery of that second).
OVERLAP = timedelta(seconds=2)
GONE_CHECK = 500  # stored orders asked about per reconcile
QUIET = timedelta(hours=1)  # how long an order has not changed before it is asked about
# Seconds a reconcile may take: its interval, so two never overlap (a first sync of a big
# shop can run from `portal woo sync`, which has none).
RECONCILE_TIMEOUT = 900


@dataclass
class Report:
    products: int = 0
    orders: int = 0
    changed: int = 0
    gone: int = 0


def state() -> WooSyncState:
    row = db.session.get(WooSyncState, 1)
    if row is None:
        row = WooSyncState(id=1)
        db.session.add(row)
        db.session.flush()
    return row


def sync_products(api: WooClient) -> int:
    count = 0
    for page in api.pages("/products", {"status": "any"}):
        ids = [str(item.get("id")) for item in page]
        known = {
            p.product_id: p
            for p in db.session.scalars(select(Product).where(Product.product_id.in_(ids)))
        }
        for item in page:
            product = known.get(str(item.get("id"))) or Product(product_id=str(item.get("id")))
            lookups.update_product(product, item)
            db.session.add(product)
            count += 1
        db.session.commit()
    return count


def _store_page(
    page: list[Any], report: Report, shop: lookups.Shop, webhooks_since: datetime | None
) -> None:
    """Take a page of orders through the intake: in one transaction, or — when anything
    in it fails — each order alone, an order that fails kept as a failed delivery (with
    its reason, replayable) so the sync goes on past it. Orders whose state only this
    read brought are kept for the webhook health (``health.record_finds``)."""

    def run(chunk: Sequence[Any]) -> list[orders.Stored]:
        found = inbox.mapped([(inbox.REST_TOPIC, payload) for payload in chunk], shop)
        for payload, outcome in zip(chunk, found.outcomes, strict=True):
            if isinstance(outcome, str):
                log.warning("woocommerce sync: an order kept as failed: %s", outcome)
                inbox.keep_failed(payload, outcome)
        stored = intake.take(found.units)
        changed = (
            (unit.data.shop_order_id, unit.data.modified_at)
            for unit, result in zip(found.units, stored, strict=True)
            if isinstance(unit, intake.Copy) and result is not None and result.changed
        )
        health.record_finds(changed, webhooks_since)
        return [s for s in stored if s is not None]

    def failed(payload: Any, exc: Exception) -> None:
        log.warning("woocommerce sync: an order kept as failed: %r", exc)
        inbox.keep_failed(payload, f"{type(exc).__name__}: {exc}")

    stored = intake.each_alone(page, run, failed)
    report.orders += len(stored)
    report.changed += sum(s.changed for s in stored)


def _newest(page: list[Any]) -> datetime | None:
    """The newest modification time on a page (its orders are taken or kept as failed)."""
    times = []
    for payload in page:
        try:
            times.append(mapping.modified_at(payload))
        except mapping.MappingError:
            continue
    return max((t for t in times if t is not None), default=None)


def sync_orders(
    api: WooClient,
    since: datetime | None,
    shop: lookups.Shop,
    webhooks_since: datetime | None = None,
) -> Report:
    """Orders modified since ``since``: every status (``any`` leaves out the trash, so
    the trash is read too), the watermark moved after each page."""
    report = Report()
    params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
    if since is not None:
        params["modified_after"] = (since - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")
    for status in ("any", "trash"):
        for page in api.pages("/orders", {**params, "status": status}):
            _store_page(page, report, shop, webhooks_since)
            newest = _newest(page)
            if newest is not None:
                row = state()
                row.orders_modified_after = max(row.orders_modified_after or newest, newest)
                db.session.commit()
    return report


def check_gone(api: WooClient, shop: lookups.Shop, limit: int = GONE_CHECK) -> int:
    """Ask the shop about stored orders that can still earn and have not changed for a
    while (``QUIET``), ``limit`` per run, going round by order id: WooCommerce sends no
    webhook when an order is deleted for good, so an order the shop no longer has (not
    even in the trash) is reversed as ``deleted``. Returns how many were."""
    row = state()
    after = row.gone_checked_after or 0
    quiet = utcnow() - QUIET
    wanted = list(
        db.session.execute(
            select(Order.id, Order.shop_order_id)
            .where(
                Order.shop == inbox.SHOP,
                Order.id > after,
                Order.status.in_(EARNING_STATUSES),
                Order.modified_at_shop < quiet,
            )
            .order_by(Order.id)
            .limit(limit)
        )
    )
    row.gone_checked_after = wanted[-1].id if len(wanted) == limit else 0
    db.session.commit()
    gone = []
    for start in range(0, len(wanted), lookups.PER_REQUEST):
        ids = [w.shop_order_id for w in wanted[start : start + lookups.PER_REQUEST]]
        missing = set(ids)
        for status in ("any", "trash"):
            if missing:
                params = {"include": ",".join(sorted(missing)), "status": status}
                for page in api.pages("/orders", params):
                    missing -= {str(item.get("id")) for item in page if isinstance(item, dict)}
        gone += sorted(missing)
    if gone:
        log.warning("woocommerce: orders %s are no longer in the shop: reversed", gone)
        intake.take(
            [intake.Removal(inbox.SHOP, shop_order_id, "deleted") for shop_order_id in gone]
        )
        db.session.commit()
    return len(gone)


def catch_up(api: WooClient) -> None:
    """The shop side of distributors: coupons the shop has not applied yet (suspended,
    reactivated, never created), and active distributors not linked to a shop customer
    (a batch per run)."""
    coupons.push_unsynced(api)
    customers.link_unlinked(api, state())


def look_at_the_shop(api: WooClient) -> datetime | None:
    """What the shop says about itself (currency, timezone) and the portal's webhooks
    in it, read at the start of every run, and :func:`catch_up`; a step that fails is
    logged and the orders are read all the same. Returns since when the portal's
    webhooks exist."""

    def read_storefront(api: WooClient) -> None:
        connection.read_storefront(api)
        storefront.adopt_if_new()

    for step in (read_storefront, health.snapshot, catch_up):
        try:
            step(api)
            db.session.commit()
        except WooError as exc:
            db.session.rollback()
            log.warning("woocommerce reconcile: %s: %s", step.__name__, exc)
    health.prune()
    db.session.commit()
    stored = credentials.row()
    return stored.webhooks_since if stored is not None else None


def reconcile(full: bool = False, since: datetime | None = None) -> Report:
    """The shop's settings and webhooks, products, then orders since the watermark (or
    ``since``, or everything)."""
    row = state()
    start = None if full else since or row.orders_modified_after
    db.session.commit()
    api = credentials.client()
    shop = lookups.Shop()
    try:
        webhooks_since = look_at_the_shop(api)
        report = Report(products=sync_products(api))
        found = sync_orders(api, start, shop, webhooks_since)
        report.orders, report.changed = found.orders, found.changed
        report.gone = check_gone(api, shop)
    except WooError as exc:
        db.session.rollback()
        row = state()
        row.last_run_at, row.last_error = utcnow(), str(exc)
        connection.checked(api.auth, exc)
        db.session.commit()
        raise
    finally:
        api.close()
        shop.close()
    row = state()
    row.last_run_at, row.last_error = utcnow(), None
    row.last_orders, row.last_products = report.orders, report.products
    connection.checked(api.auth, None)
    db.session.commit()
    return report


def periodic_reconcile() -> None:
    """The 15-minute job: does nothing until the shop's REST keys are configured."""
    if not lookups.Shop.configured():
        return
    try:
        reconcile()
    except WooError as exc:  # recorded on the sync state; the next run tries again
        log.warning("woocommerce reconcile failed: %s", exc)


def test_connection() -> str:
    """One cheap REST call; returns what the shop said, raises WooError with the reason.
    How it went is kept for the Shop page either way (flushed; the caller commits)."""
    api = credentials.client()
    try:
        response = api.request("GET", "/orders", params={"per_page": 1})
    except WooError as exc:
        connection.checked(api.auth, exc)
        raise
    finally:
        api.close()
    connection.checked(api.auth, None)
    return response.headers.get("X-WP-Total", "?")
