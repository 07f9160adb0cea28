"""Storing shop orders idempotently.

Whatever the delivery path (webhook, REST sync, a replay), an order is stored through
:func:`store_orders` (or :func:`store_order` for one, with the same outcome): keyed by
(shop, shop order id), an older copy than the one stored (by the shop's modification
time) changes nothing, and the attribution is recorded once.

Shops keep modification times in whole seconds, so two changes inside one second carry
the same time: a copy with the stored time but different content is the later change
(copies are taken in arrival order), an identical one is a duplicate. The content is
compared by a digest of the copy, kept on the order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import registry
from portal.accounts.services import keyed_hash
from portal.extensions import db
from portal.orders.models import Order, OrderLine
from portal.timeutil import utcnow


@dataclass(frozen=True)
class LineData:
    shop_line_id: str
    product_id: str
    qty: int
    total: Decimal
    category_ids: tuple[str, ...] = ()
    variation_id: str | None = None
    name: str = ""
    refunded_total: Decimal = Decimal(0)


@dataclass(frozen=True)
class Attribution:
    distributor_id: int
    method: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Referral:
    """What a copy of an order says about who referred it (attribution resolves it)."""

    coupons: tuple[str, ...] = ()
    portal_ref: str | None = None
    utm: dict[str, str] = field(default_factory=dict)
    sub_id: str | None = None  # the sub-id of the link the buyer followed
    referrer_host: str | None = None  # the host of the page they came from
    # Collected at a group leader's pickup point: the leader's code, the point's id and
    # the buyer as the pick list shows them (first name and initial).
    pickup_code: str | None = None
    pickup_point: int | None = None
    pickup_buyer: str | None = None
    # A subscription renewal: the shop's id of the original order.
    renewal_of: str | None = None


@dataclass(frozen=True)
class RefundNote:
    """How one shop refund reduced the goods: ``rule`` is ``lines`` (the refund's own
    lines), ``proportional`` (an amount-only refund: amount × goods / order total) or
    ``estimated`` (the refund's lines could not be read: proportional too)."""

    refund_id: str
    amount: Decimal
    goods: Decimal
    rule: str


@dataclass(frozen=True)
class CouponUse:
    """A coupon an order used and the value it took off the order, as the shop counts a
    coupon's amount (with the tax when the shop's prices include tax)."""

    code: str
    amount: Decimal


@dataclass(frozen=True)
class OrderData:
    shop_order_id: str
    status: str
    currency: str
    created_at: datetime
    modified_at: datetime
    lines: tuple[LineData, ...]
    number: str | None = None
    completed_at: datetime | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    customer_ip: str | None = None  # hashed before storing, like the user agent
    customer_user_agent: str | None = None
    refunded_unallocated: Decimal = Decimal(0)
    refunds: tuple[RefundNote, ...] = ()
    attribution: Attribution | None = None
    referral: Referral | None = None
    coupon_uses: tuple[CouponUse, ...] = ()  # store credit spent (portal.withdrawals.credit)
    shop: str = field(default_factory=registry.shop_kind)

    @cached_property
    def digest(self) -> str:
        """The copy's content, without what the portal adds (attribution, categories);
        worked out once per copy (is_news and _apply both ask)."""
        content = asdict(self)
        for name in ("attribution", "referral", "modified_at"):
            content.pop(name)
        if not content["coupon_uses"]:  # the digests of orders stored before it stay
            content.pop("coupon_uses")
        for line in content["lines"]:
            line.pop("category_ids")
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Stored:
    order_id: int
    changed: bool


def _apply(order: Order, data: OrderData) -> None:
    order.commissions_due_at = utcnow()
    order.number = data.number
    order.status = data.status
    order.currency = data.currency.upper()
    order.customer_id = data.customer_id
    order.customer_email = (data.customer_email or "").strip().lower() or None
    order.customer_ip_hash = keyed_hash(data.customer_ip) if data.customer_ip else None
    order.customer_ua_hash = (
        keyed_hash(data.customer_user_agent) if data.customer_user_agent else None
    )
    order.created_at_shop = data.created_at
    order.modified_at_shop = data.modified_at
    order.completed_at = data.completed_at
    order.refunded_unallocated = data.refunded_unallocated
    order.refund_notes = [
        {
            "refund_id": note.refund_id,
            "amount": str(note.amount),
            "goods": str(note.goods),
            "rule": note.rule,
        }
        for note in data.refunds
    ] or None
    order.shop_digest = data.digest
    # Update lines in place by shop line id: replacing the collection would insert the new
    # rows before deleting the old ones and trip the (order, shop line id) unique index.
    current = {line.shop_line_id: line for line in order.lines}
    lines = []
    for incoming in data.lines:
        line = current.pop(incoming.shop_line_id, None) or OrderLine(
            shop_line_id=incoming.shop_line_id
        )
        line.product_id = incoming.product_id
        line.variation_id = incoming.variation_id
        line.category_ids = list(incoming.category_ids)
        line.name = incoming.name[:255]
        line.qty = incoming.qty
        line.total = incoming.total
        line.refunded_total = incoming.refunded_total
        lines.append(line)
    order.lines = lines
    goods = sum((line.total - line.refunded_total for line in lines), Decimal(0))
    order.net_total = max(Decimal(0), goods - data.refunded_unallocated)
    if order.distributor_id is None and data.attribution is not None:
        order.distributor_id = data.attribution.distributor_id
        order.attribution_method = data.attribution.method
        order.attribution_evidence = data.attribution.evidence
        order.sub_id = data.attribution.evidence.get("sub_id")
        order.referrer_host = data.attribution.evidence.get("referrer_host")
        if data.attribution.method == "renewal":
            order.renewal_of_id = data.attribution.evidence["renewal_of_id"]
        if data.attribution.method == "pickup" and data.referral is not None:
            order.pickup_point_id = data.attribution.evidence["pickup_point"]
            order.pickup_buyer = data.referral.pickup_buyer


def find(shop: str, shop_order_id: str) -> Order | None:
    return db.session.scalar(
        select(Order).where(Order.shop == shop, Order.shop_order_id == shop_order_id)
    )


def store_order(data: OrderData) -> Stored:
    """:func:`store_orders` for one copy, settling a concurrent insert of the same order
    (the second try updates the winner's row). Commits."""
    for attempt in range(2):
        try:
            (stored,) = store_orders([data])
            db.session.commit()
            return stored
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def is_news(order: Order, data: OrderData, revive: bool = False) -> bool:
    """Whether a copy changes the stored order: newer, or of the same second with other
    content (the later of two changes in one second), or — ``revive``, a restore — the
    same copy bringing a trashed order back."""
    if data.modified_at != order.modified_at_shop:
        return data.modified_at > order.modified_at_shop
    if revive and order.status == "trash":
        return True
    return data.digest != order.shop_digest


def trash(order: Order, status: str = "trash") -> None:
    """The shop removed the order (``trash``, or ``deleted`` for good). The shop's time
    of it is unknown, so the stored modification time stays: a restore, newer than any
    copy from before, brings it back."""
    order.status = status
    order.commissions_due_at = utcnow()


def _lock_many(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Order]:
    """Lock and load the stored orders among ``keys``: PostgreSQL's row locks are taken in
    id order (concurrent batches cannot deadlock on them), SQLite's write lock by a no-op
    UPDATE before anything is read (SQLite ignores FOR UPDATE; the read after the UPDATE
    sees the winner's copy)."""
    found: dict[tuple[str, str], Order] = {}
    for shop in {shop for shop, _ in keys}:
        wanted = Order.shop == shop, Order.shop_order_id.in_({i for s, i in keys if s == shop})
        if db.session.get_bind().dialect.name == "sqlite":
            db.session.execute(
                update(Order)
                .where(*wanted)
                .values(stored_at=Order.stored_at)
                .execution_options(synchronize_session=False)
            )
        for order in db.session.scalars(
            select(Order)
            .options(selectinload(Order.lines))
            .where(*wanted)
            .order_by(Order.id)
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        ):
            found[(order.shop, order.shop_order_id)] = order
    return found


def store_orders(batch: Sequence[OrderData], revive: Sequence[bool] = ()) -> list[Stored]:
    """Store a batch of copies in the caller's transaction: flushed, not committed.

    Copies are taken in the given (arrival) order — one that is not news (:func:`is_news`)
    against the stored order, or an earlier copy in the batch, changes nothing, and the
    first attribution sticks — so the outcome is the one of storing them one by one, for
    one lock-and-load and one flush. ``revive`` flags the copies that are restores. Raises
    ``IntegrityError`` when another transaction inserted one of the new orders meanwhile:
    the caller rolls back and stores that batch one by one (:func:`store_order` settles the
    race).
    """
    current = _lock_many({(data.shop, data.shop_order_id) for data in batch})
    applied: set[tuple[str, str]] = set()
    outcome: list[tuple[Order, bool]] = []
    revives = list(revive) + [False] * (len(batch) - len(revive))
    for data, restore in zip(batch, revives, strict=True):
        key = (data.shop, data.shop_order_id)
        order = current.get(key)
        if order is not None and not is_news(order, data, restore):
            outcome.append((order, False))  # duplicate or stale
            continue
        if order is None:
            order = current[key] = Order(shop=data.shop, shop_order_id=data.shop_order_id)
            db.session.add(order)
        elif key in applied:
            # A second newer copy in the batch: write the first, so a line it removed and
            # this one brings back is deleted before it is inserted again.
            db.session.flush()
        _apply(order, data)
        applied.add(key)
        outcome.append((order, True))
    db.session.flush()
    return [Stored(order.id, changed) for order, changed in outcome]
