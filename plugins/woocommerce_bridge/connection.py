"""Connecting the shop from Admin → Shop, without a restart: the keys are tried, what
the shop says about itself is read (its currency from ``/settings/general``, its
timezone from WordPress's REST index), the keys are kept encrypted, and the portal's
four order webhooks are created — or repaired — over REST (``POST /webhooks`` under
``/wc/v3``, so they use API v3; each with the delivery URL and the portal's secret).

Repairing leaves an active webhook in place with the portal's URL and secret set again,
and replaces a paused or disabled one by a new one: a re-activated webhook keeps the
failure count that disabled it, a new one starts from zero.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plugins.woocommerce_bridge import credentials, health
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.webhooks import TOPICS
from portal import storefront
from portal.accounts.models import User
from portal.audit import services as audit
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
SAFE_PORTS = (80, 443, 8080)  # the ports WordPress's wp_safe_remote_post() delivers to


@dataclass
class Repair:
    created: list[str] = field(default_factory=list)  # topics
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


@dataclass
class Connected:
    auth: str
    repair: Repair | None
    webhook_error: str | None  # the keys read, but the webhooks could not be made


def read_storefront(api: WooClient) -> None:
    """The shop's currency (``woocommerce_currency``) and timezone, recorded in the
    core. A shop whose REST index cannot be read keeps the timezone last recorded."""
    general = api.json("GET", "/settings/general")
    items = general if isinstance(general, list) else []
    currency = next(
        (
            item.get("value")
            for item in items
            if isinstance(item, dict) and item.get("id") == "woocommerce_currency"
        ),
        None,
    )
    if not isinstance(currency, str) or not storefront.CURRENCY.match(currency):
        raise WooError("the shop's general settings name no currency (woocommerce_currency)")
    timezone: str | None = None
    offset = None
    try:
        index = api.site_index()
    except WooError as exc:
        log.warning("woocommerce: the shop's timezone could not be read: %s", exc)
    else:
        if isinstance(index, dict):
            named = index.get("timezone_string")
            timezone = named if isinstance(named, str) else ""
            offset = storefront.offset_minutes(timezone, index.get("gmt_offset"))
    storefront.record(
        url=api.store_url, currency=currency, timezone=timezone, utc_offset_minutes=offset
    )


def checked(auth: str, error: WooError | None) -> None:
    """How the last use of the keys went, for the Shop page."""
    stored = credentials.row(create=True)
    stored.auth, stored.checked_at = auth, utcnow()
    stored.error = str(error)[:2000] if error is not None else None


def delivery_warning(url: str) -> str | None:
    """Why WordPress would refuse to deliver to ``url``, if it can be told from the URL:
    ``wp_safe_remote_post`` takes no loopback or private address and only ports 80, 443
    and 8080 (English: a reason like WooError's)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or (address is not None and not address.is_global):
        return f"{host} is a loopback or private address"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the address has no valid port"
    if port not in SAFE_PORTS:
        return f"port {port} is not one of 80, 443 and 8080"
    return None


def _webhook(topic: str, delivery_url: str, secret: str) -> dict[str, Any]:
    return {
        "name": f"Portal {topic}",
        "topic": topic,
        "delivery_url": delivery_url,
        "secret": secret,
        "status": "active",
    }


def repair(api: WooClient, delivery_url: str) -> Repair:
    """One active webhook of the portal per order topic, with its URL and secret."""
    secret = credentials.ensure_webhook_secret()
    hooks = [h for h in health.read(api) if health.is_ours(h, delivery_url)]
    done = Repair()
    for topic in TOPICS:
        mine = [h for h in hooks if h["topic"] == topic]
        active = [h for h in mine if h.get("status") == "active"]
        if active:
            keep, drop = active[0], [h for h in mine if h is not active[0]]
            body = {"delivery_url": delivery_url, "secret": secret}
            api.json("PUT", f"/webhooks/{keep['id']}", json=body)
            done.kept.append(topic)
        else:
            drop = mine
            api.json("POST", "/webhooks", json=_webhook(topic, delivery_url, secret))
            (done.replaced if mine else done.created).append(topic)
        for old in drop:  # after its successor exists: no moment without one
            api.json("DELETE", f"/webhooks/{old['id']}", params={"force": "true"})
    health.secret_set()
    credentials.row(create=True).delivery_url = delivery_url
    health.snapshot(api, delivery_url)
    return done


def connect(store_url: str, key: str, secret: str, delivery_url: str, actor: User) -> Connected:
    """Try the keys and keep them, take the shop's currency while the portal has no
    order yet, make the webhooks (flushed; the caller commits). Raises ``WooError`` —
    nothing kept — when the keys do not read."""
    api = WooClient(store_url, key, secret, timeout=15, retries=1, backoff=0.2)
    try:
        read_storefront(api)  # raises WooRefused when the shop refuses the keys
        before = credentials.row()
        old_url = before.store_url if before is not None else None
        credentials.save(store_url, key, secret)
        storefront.adopt_if_new(actor)
        checked(api.auth, None)
        try:
            done: Repair | None = repair(api, delivery_url)
            error = None
        except WooError as exc:
            log.warning("woocommerce: webhooks not made on connecting: %s", exc)
            done, error = None, str(exc)
        audit.record(
            actor,
            "shop.connect",
            "shop",
            store_url,
            {"store_url": old_url},
            {"store_url": store_url, "auth": api.auth, "webhooks": error is None},
        )
        return Connected(api.auth, done, error)
    finally:
        api.close()


def _with_client(run: Any) -> Any:
    api = credentials.client(timeout=15, retries=1, backoff=0.2)
    try:
        return run(api)
    finally:
        api.close()


def repair_webhooks(delivery_url: str, actor: User) -> Repair:
    """The Shop page's *Repair* (flushed; the caller commits)."""
    done = _with_client(lambda api: repair(api, delivery_url))
    audit.record(actor, "shop.webhooks_repair", "shop", "webhooks", None, vars(done))
    return done


def reactivate(webhook_id: int, actor: User) -> bool:
    """``PUT /webhooks/<id>`` with status active, for one of the portal's webhooks as
    last read. False when it is not one of them. WooCommerce keeps the webhook's failure
    count: one more failed delivery disables it again."""
    stored = credentials.row()
    if stored is None or not any(h["id"] == webhook_id for h in stored.webhooks or []):
        return False

    def run(api: WooClient) -> None:
        api.json("PUT", f"/webhooks/{webhook_id}", json={"status": "active"})
        health.snapshot(api)

    _with_client(run)
    audit.record(actor, "shop.webhook_activate", "webhook", webhook_id)
    return True
