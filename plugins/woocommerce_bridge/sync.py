"""REST reconciliation: how nothing gets lost when a webhook delivery does.

WooCommerce never retries a failed delivery, so every 15 minutes (and on ``portal woo
sync``) the portal pages through orders modified since its watermark and stores them the
same way deliveries are stored — idempotent, so overlap is harmless; a page of 100 in one
transaction, its commissions applied together. The watermark moves after each page, so
an interrupted sync resumes where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from plugins.woocommerce_bridge import inbox, mapping
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooSyncState
from portal.catalogue.models import Product
from portal.commissions import services as commissions
from portal.extensions import db
from portal.orders import services as orders
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
# Orders modified in the same second as the watermark may straddle two pages: re-read a
# little; storing is idempotent.
OVERLAP = timedelta(seconds=2)


@dataclass
class Report:
    products: int = 0
    orders: int = 0
    changed: int = 0


def client() -> WooClient:
    cfg = current_app.config
    return WooClient(cfg["WOO_STORE_URL"], cfg["WOO_CONSUMER_KEY"], cfg["WOO_CONSUMER_SECRET"])


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
            product.name = str(item.get("name") or "")[:255]
            product.price = str(item.get("price") or "") or None
            product.permalink = item.get("permalink")
            images = item.get("images") or []
            product.image_url = (
                images[0].get("src") if images and isinstance(images[0], dict) else None
            )
            product.category_ids = [str(c.get("id")) for c in item.get("categories") or []]
            db.session.add(product)
            count += 1
        db.session.commit()
    return count


def _store_page(page: list[dict[str, Any]], report: Report) -> datetime | None:
    """Store a page of orders in one transaction and apply their commissions together;
    returns the newest modification time stored (None when nothing could be)."""
    mapped = inbox.orders_from_payloads(page)
    for payload, data in zip(page, mapped, strict=True):
        if isinstance(data, mapping.MappingError):
            log.warning("woocommerce sync: order %s skipped: %s", payload.get("id"), data)
    batch = [data for data in mapped if isinstance(data, orders.OrderData)]
    try:
        stored = orders.store_orders(batch)
        db.session.commit()
    except (IntegrityError, OperationalError) as exc:
        # A delivery stored one of these orders meanwhile: one by one, as store_order
        # settles that race (mapped again: the rolled-back batch took its bindings along).
        db.session.rollback()
        log.info("woocommerce sync: page taken order by order (%s)", type(exc.orig).__name__)
        stored = []
        for payload in page:
            (data,) = inbox.orders_from_payloads([payload])
            if isinstance(data, orders.OrderData):
                stored.append(orders.store_order(data))
    if stored:
        commissions.apply_orders([s.order_id for s in stored])
    report.orders += len(stored)
    report.changed += sum(s.changed for s in stored)
    return max((data.modified_at for data in batch), default=None)


def sync_orders(api: WooClient, since: datetime | None) -> Report:
    report = Report()
    params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true", "status": "any"}
    if since is not None:
        params["modified_after"] = (since - OVERLAP).strftime("%Y-%m-%dT%H:%M:%S")
    for page in api.pages("/orders", params):
        newest = _store_page(page, report)
        if newest is not None:
            row = state()
            row.orders_modified_after = max(row.orders_modified_after or newest, newest)
            db.session.commit()
    return report


def reconcile(full: bool = False, since: datetime | None = None) -> Report:
    """Products, then orders since the watermark (or ``since``, or everything)."""
    row = state()
    start = None if full else since or row.orders_modified_after
    db.session.commit()
    api = client()
    try:
        report = Report(products=sync_products(api))
        found = sync_orders(api, start)
        report.orders, report.changed = found.orders, found.changed
    except WooError as exc:
        row = state()
        row.last_run_at, row.last_error = utcnow(), str(exc)
        db.session.commit()
        raise
    finally:
        api.close()
    row = state()
    row.last_run_at, row.last_error = utcnow(), None
    row.last_orders, row.last_products = report.orders, report.products
    db.session.commit()
    return report


def periodic_reconcile() -> None:
    """The 15-minute job: does nothing until the shop's REST keys are configured."""
    cfg = current_app.config
    if not (cfg["WOO_STORE_URL"] and cfg["WOO_CONSUMER_KEY"] and cfg["WOO_CONSUMER_SECRET"]):
        return
    try:
        reconcile()
    except WooError as exc:  # recorded on the sync state; the next run tries again
        log.warning("woocommerce reconcile failed: %s", exc)


def test_connection() -> str:
    """One cheap REST call; returns what the shop said, raises WooError with the reason."""
    api = client()
    try:
        response = api.request("GET", "/orders", params={"per_page": 1})
    finally:
        api.close()
    return response.headers.get("X-WP-Total", "?")
