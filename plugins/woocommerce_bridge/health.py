"""Webhook health, read on every reconcile and shown on the Shop page and in /metrics.

WooCommerce delivers webhooks asynchronously (Action Scheduler, on WP-Cron), disables a
webhook after more than 5 failed deliveries in a row and never retries one; the failure
count is not in the REST answer, and a re-activated webhook keeps it (one more failure
disables it again, a delivery that works starts it from zero). So the portal looks for
itself: its webhooks' status as ``GET /webhooks`` lists them, the deliveries it refused
with a bad signature (a wrong secret in the shop), and the orders a reconcile found
changed that no webhook brought.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, exists, func, insert, select

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooConnection, WooDelivery, WooRestFind
from plugins.woocommerce_bridge.webhooks import TOPICS, WEBHOOK_PATH
from portal import metrics
from portal.extensions import db
from portal.timeutil import utcnow

STATUSES = ("active", "paused", "disabled")
FIND_DAYS = 7  # how long an order found only by a reconcile is counted
# How long after an order changed its webhook may still come (Action Scheduler runs on
# WP-Cron, i.e. on the shop's page views): until then a find is not counted as missed.
GRACE = timedelta(minutes=10)
CLOCKS = timedelta(minutes=1)  # the shop's and the portal's clocks may differ this much
SHOWN = 20  # missed orders listed on the Shop page


@dataclass(frozen=True)
class Hook:
    id: int
    name: str
    topic: str
    status: str
    delivery_url: str


@dataclass(frozen=True)
class Report:
    read_at: datetime | None
    hooks: list[Hook]  # the portal's webhooks in the shop
    missing: list[str]  # order topics without one
    unauthorized: int  # deliveries refused with a bad signature
    unauthorized_since: datetime | None
    last_unauthorized_at: datetime | None
    missed: int  # orders only a reconcile brought (last FIND_DAYS days)
    missed_orders: list[str]

    @property
    def not_active(self) -> list[Hook]:
        return [h for h in self.hooks if h.status != "active"]


def expected_delivery_url() -> str | None:
    """Where the portal's webhooks should deliver, when it is known outside a request."""
    stored = credentials.row()
    if stored is not None and stored.delivery_url:
        return stored.delivery_url
    base = current_app.config["PORTAL_BASE_URL"]
    return base + WEBHOOK_PATH if base else None


def _normal(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.strip())
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")


def is_ours(hook: dict[str, Any], delivery_url: str | None) -> bool:
    """A webhook of the portal: one of its order topics, delivering to its address (to
    its webhook path, when the address is not known)."""
    url = str(hook.get("delivery_url") or "")
    if hook.get("topic") not in TOPICS:
        return False
    if delivery_url:
        return _normal(url) == _normal(delivery_url)
    return _normal(url)[2] == WEBHOOK_PATH


def read(api: WooClient) -> list[dict[str, Any]]:
    """Every webhook of the shop (``GET /webhooks``, all statuses)."""
    hooks = [h for page in api.pages("/webhooks") for h in page]
    if not all(isinstance(h, dict) and "id" in h for h in hooks):
        raise WooError("the shop's webhook list is not a list of webhooks")
    return hooks


def _created(hook: dict[str, Any]) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(hook.get("date_created_gmt")))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _keep(hooks: Sequence[dict[str, Any]], delivery_url: str | None) -> None:
    """Keep the portal's webhooks among ``hooks`` as the shop listed them (flushed)."""
    ours = [h for h in hooks if is_ours(h, delivery_url)]
    stored = credentials.row(create=True)
    stored.webhooks = [
        {
            "id": int(h["id"]),
            "name": str(h.get("name") or "")[:200],
            "topic": h["topic"],
            "status": str(h.get("status") or ""),
            "delivery_url": str(h.get("delivery_url") or "")[:255],
        }
        for h in sorted(ours, key=lambda h: (TOPICS.index(h["topic"]), int(h["id"])))
    ]
    stored.webhooks_read_at = utcnow()
    if ours and stored.webhooks_since is None:
        created = [c for c in map(_created, ours) if c is not None]
        stored.webhooks_since = min(created, default=stored.webhooks_read_at)
    db.session.flush()


def snapshot(api: WooClient, delivery_url: str | None = None) -> None:
    """Read the shop's webhooks and keep the portal's."""
    _keep(read(api), delivery_url or expected_delivery_url())


def secret_set() -> None:
    """The shop's webhooks were given the portal's secret: count refusals from now."""
    stored = credentials.row(create=True)
    stored.unauthorized, stored.unauthorized_since = 0, utcnow()
    stored.last_unauthorized_at = None


def record_finds(found: Iterable[tuple[str, datetime]], since: datetime | None) -> None:
    """Orders (shop order id, modified at the shop) whose new state a reconcile took:
    those changed after the portal's webhooks existed are kept, and count as missed
    until a delivery for them arrives (in the caller's transaction)."""
    if since is None:
        return
    rows = {
        order_id: {
            "shop_order_id": order_id,
            "delivery_after": modified - CLOCKS,
            "found_at": utcnow(),
        }
        for order_id, modified in found
        if modified is not None and modified >= since
    }
    if not rows:
        return
    db.session.execute(delete(WooRestFind).where(WooRestFind.shop_order_id.in_(rows)))
    db.session.execute(insert(WooRestFind), list(rows.values()))


def prune() -> None:
    """Forget finds older than ``FIND_DAYS`` (the caller commits)."""
    old = utcnow() - timedelta(days=FIND_DAYS)
    db.session.execute(delete(WooRestFind).where(WooRestFind.found_at < old))


def _missed() -> Any:
    """The finds no delivery followed, old enough that one should have."""
    now = utcnow()
    delivered = exists().where(
        WooDelivery.shop_order_id == WooRestFind.shop_order_id,
        WooDelivery.received_at >= WooRestFind.delivery_after,
    )
    return select(WooRestFind.shop_order_id).where(
        WooRestFind.found_at >= now - timedelta(days=FIND_DAYS),
        WooRestFind.delivery_after < now - GRACE,
        ~delivered,
    )


def missed_count() -> int:
    return db.session.scalar(select(func.count()).select_from(_missed().subquery())) or 0


def report() -> Report:
    stored = credentials.row() or WooConnection(webhooks=[], unauthorized=0)
    hooks = [Hook(**h) for h in stored.webhooks or []]
    recent = db.session.scalars(_missed().order_by(WooRestFind.found_at.desc()).limit(SHOWN)).all()
    return Report(
        read_at=stored.webhooks_read_at,
        hooks=hooks,
        missing=[t for t in TOPICS if not any(h.topic == t for h in hooks)],
        unauthorized=stored.unauthorized or 0,
        unauthorized_since=stored.unauthorized_since,
        last_unauthorized_at=stored.last_unauthorized_at,
        missed=missed_count() if recent else 0,
        missed_orders=list(recent),
    )


def gauges() -> list[metrics.Gauge]:
    """The Shop page's figures for /metrics."""
    found = report()
    result = []
    if found.read_at is not None:
        statuses = [h.status for h in found.hooks]
        result += [
            metrics.Gauge(
                "portal_shop_webhooks",
                "The portal's webhooks in the shop by status (missing: order topics with none).",
                statuses.count(status),
                {"status": status},
            )
            for status in STATUSES
        ]
        result.append(
            metrics.Gauge(
                "portal_shop_webhooks",
                "",
                len(found.missing),
                {"status": "missing"},
            )
        )
    result += [
        metrics.Gauge(
            "portal_shop_unauthorized_deliveries",
            "Deliveries refused with a bad signature since the webhook secret was last set.",
            found.unauthorized,
        ),
        metrics.Gauge(
            "portal_shop_orders_without_webhook",
            f"Orders a reconcile found changed that no webhook brought (last {FIND_DAYS} days).",
            found.missed,
        ),
    ]
    return result
