"""Orders and their lines, stored idempotently by (shop, shop order id)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import registry
from portal.extensions import db
from portal.money import Money
from portal.timeutil import UTCDateTime, utcnow

# The order statuses the portal stores (the shop's, without its wc- prefix, and
# ``deleted``: gone from the shop for good). An allow-list: a shop status outside it is
# either mapped by the merchant (Admin → Settings) or not taken at all.
EARNING_STATUSES = frozenset({"pending", "processing", "on-hold", "completed"})
# Statuses that pay no commission.
VOID_STATUSES = frozenset({"cancelled", "failed", "refunded", "trash", "deleted"})
STATUSES = EARNING_STATUSES | VOID_STATUSES
COMPLETED = "completed"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("shop", "shop_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop: Mapped[str] = mapped_column(String(32), default=registry.shop_kind)
    shop_order_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(254), index=True)
    # Keyed hashes of the buyer's address and browser (never the raw values), for the
    # "same device as the distributor" risk rule.
    customer_ip_hash: Mapped[str | None] = mapped_column(String(64))
    customer_ua_hash: Mapped[str | None] = mapped_column(String(64))
    refunded_unallocated: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # How each shop refund reduced the goods (orders.services.RefundNote, as JSON): the
    # statement's answer to "why did this refund take that much?".
    refund_notes: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # Digest of the last copy stored: tells a second change inside one second (same
    # modification time, other content) from a duplicate.
    shop_digest: Mapped[str | None] = mapped_column(String(32))
    # Goods after discounts and refunds, excl. tax and shipping: what "sales" means on
    # every page. Kept by store_order, so sums over orders need no join to the lines.
    net_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    created_at_shop: Mapped[datetime] = mapped_column(UTCDateTime())
    modified_at_shop: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Indexed by ix_orders_distributor_created (first column).
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    attribution_method: Mapped[str | None] = mapped_column(String(32))
    attribution_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Where the buyer came from, for the distributor's statistics: the ``?sub=`` of the
    # link that brought them (only when the order is credited by that link) and the host
    # of the page they came from (the shop's order attribution ``referrer``).
    sub_id: Mapped[str | None] = mapped_column(String(40))
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    # Collected at a group leader's pickup point (the point, and the buyer as the pick
    # list shows them: first name and initial — nothing more is kept). No foreign key:
    # adding one would copy the orders table on SQLite, and points are never deleted.
    pickup_point_id: Mapped[int | None]
    pickup_buyer: Mapped[str | None] = mapped_column(String(40))
    # A subscription renewal: the original order (whose distributor it is credited to).
    renewal_of_id: Mapped[int | None] = mapped_column(index=True)
    # Plan, upline chain and rules frozen at the first commission run (see
    # portal.commissions.context): later events never re-price an old order.
    commission_context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped by every commission run; the UPDATE is also the lock that serialises runs.
    commission_runs: Mapped[int] = mapped_column(default=0)
    # Set when the stored copy changes, cleared by the commission run that follows it —
    # in the same transaction on every intake path. A mark that outlives its transaction
    # is work a crash or a bug left undone: the sweep (portal.commissions.sweep) runs it,
    # and ``portal ledger verify`` reports marks older than its grace.
    commissions_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "shop_line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shop_line_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64), index=True)
    variation_id: Mapped[str | None] = mapped_column(String(64))
    category_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(255), default="")
    qty: Mapped[int]
    total: Mapped[Decimal] = mapped_column(Money)  # after discounts, excl. tax/shipping
    refunded_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))

    order: Mapped[Order] = relationship(back_populates="lines")


# Covering: a distributor's sales and order counts per period read the index alone.
Index(
    "ix_orders_distributor_created",
    Order.distributor_id,
    Order.created_at_shop,
    postgresql_include=["status", "net_total"],
)
# Covering: the admin reports group a date range's orders by day and by seller from the
# index alone.
Index(
    "ix_orders_created_at_shop",
    Order.created_at_shop,
    postgresql_include=["distributor_id", "status", "net_total"],
)

# A leader's pick list: the orders at their point, by day.
Index("ix_orders_pickup_point_created", Order.pickup_point_id, Order.created_at_shop)


class CustomerBinding(db.Model):
    """A customer once referred stays with that distributor until ``expires_at``.

    Keyed by the customer's email or shop customer id (``kind`` says which), so a guest
    checkout and a logged-in one both find the binding.
    """

    __tablename__ = "customer_bindings"
    __table_args__ = (UniqueConstraint("kind", "customer_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # email | customer
    customer_key: Mapped[str] = mapped_column(String(254))
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
