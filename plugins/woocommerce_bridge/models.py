"""The inbox: every webhook delivery, stored verbatim before it is acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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
    shop_order_id: Mapped[str | None] = mapped_column(String(64), index=True)


# The drain looks for unprocessed rows in arrival order.
Index("ix_woo_inbox_pending", WooDelivery.processed_at, WooDelivery.id)


class WooProduct(db.Model):
    """The synced catalogue: categories for commission overrides, names and links for
    sharing."""

    __tablename__ = "woo_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    price: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    category_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WooSyncState(db.Model):
    """One row: how far the REST reconciliation has come, and how the last run went."""

    __tablename__ = "woo_sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    orders_modified_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_orders: Mapped[int] = mapped_column(default=0)
    last_products: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DistributorCoupon(db.Model):
    """A personal coupon created in the shop for a distributor; using it attributes the
    order to them."""

    __tablename__ = "woo_distributor_coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    shop_coupon_id: Mapped[str] = mapped_column(String(32))
    percent: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
