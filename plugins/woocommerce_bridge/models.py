"""The inbox: every webhook delivery, stored verbatim before it is acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class WooDelivery(db.Model):
    __tablename__ = "woo_inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str | None] = mapped_column(String(128))
    webhook_id: Mapped[str | None] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Set when the row will not be tried again by itself: it cannot be mapped, or it
    # failed ``inbox.MAX_ATTEMPTS`` times. Ops replay it from the Shop page.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shop_order_id: Mapped[str | None] = mapped_column(String(64), index=True)


# The drain looks for unprocessed rows in arrival order.
Index("ix_woo_inbox_pending", WooDelivery.processed_at, WooDelivery.id)


class WooRefund(db.Model):
    """A shop refund's split, read once from ``GET /orders/<id>/refunds`` (WooCommerce
    refunds never change; they are only deleted, and then leave the order's list).

    ``goods`` maps the order's line ids to the goods refunded on them (positive, without
    tax); ``has_lines`` is false for an amount-only refund, whose goods share follows the
    order's own proportion."""

    __tablename__ = "woo_refunds"

    refund_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_order_id: Mapped[str] = mapped_column(String(64), index=True)
    amount: Mapped[str] = mapped_column(String(32))
    has_lines: Mapped[bool]
    goods: Mapped[dict[str, str]] = mapped_column(JSON)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WooSyncState(db.Model):
    """One row: how far the REST reconciliation has come, and how the last run went."""

    __tablename__ = "woo_sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    orders_modified_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_orders: Mapped[int] = mapped_column(default=0)
    last_products: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # How far the round of "is this order still in the shop?" checks has come (order id).
    gone_checked_after: Mapped[int | None] = mapped_column()
    # How far the round of linking distributors to shop customers has come (distributor id).
    customers_checked_after: Mapped[int | None] = mapped_column()


class WooConnection(db.Model):
    """One row: the shop as connected from Admin → Shop — its address and REST keys
    (Fernet tokens, see ``credentials``), the webhook secret the portal gave the shop's
    webhooks, how the last check went — and the webhooks' health: the portal's webhooks
    as ``GET /webhooks`` last listed them, and the deliveries refused with a bad
    signature since the secret was last set."""

    __tablename__ = "woo_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_url: Mapped[str | None] = mapped_column(String(255))
    consumer_key: Mapped[str | None] = mapped_column(Text)
    consumer_secret: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    signin_secret: Mapped[str | None] = mapped_column(Text)  # "Sign in with the shop account"
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Where the portal's webhooks deliver (jobs have no request to build it from).
    delivery_url: Mapped[str | None] = mapped_column(String(255))
    auth: Mapped[str | None] = mapped_column(String(16))  # basic | oauth1, as last sent
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)  # the last check's refusal, if any
    webhooks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    webhooks_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the portal first saw webhooks of its own: orders changed after it should
    # arrive by webhook, so one only a reconcile brings counts as missed.
    webhooks_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unauthorized: Mapped[int] = mapped_column(default=0)
    unauthorized_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_unauthorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WooRestFind(db.Model):
    """An order whose latest state a REST reconcile brought before any webhook did (its
    change was after ``WooConnection.webhooks_since``). It counts as missed by the
    webhooks until a delivery for the order is received after ``delivery_after`` (its
    modification time at the shop, less the clocks' difference); kept for
    ``health.FIND_DAYS``."""

    __tablename__ = "woo_rest_finds"

    shop_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_after: Mapped[datetime] = mapped_column(UTCDateTime())
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WooSigninNonce(db.Model):
    """The one-time nonce of a sign-in assertion the shop made, kept until the assertion
    has expired (after that the expiry refuses a replay by itself). Inserting a nonce a
    second time violates the primary key: that is how a replay is caught, on every web
    worker at once."""

    __tablename__ = "woo_signin_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
