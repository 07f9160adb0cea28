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
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, delete, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from portal import bulk, registry
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
        worked out once per copy. The content is what ``dataclasses.asdict`` gives (the
        digests of stored orders stay comparable), built field by field: ``asdict``
        deep-copies every value and took as long as storing the order."""
        content = {name: getattr(self, name) for name in _DIGESTED}
        content["lines"] = [_fields(line, _LINE_DIGESTED) for line in self.lines]
        content["refunds"] = [_fields(note, _NOTE_FIELDS) for note in self.refunds]
        if self.coupon_uses:  # the digests of orders stored before it stay
            content["coupon_uses"] = [_fields(use, _USE_FIELDS) for use in self.coupon_uses]
        text = json.dumps(content, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def _names(cls: type, *left_out: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in left_out)


def _fields(item: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(item, name) for name in names}


_DIGESTED = _names(OrderData, "attribution", "referral", "modified_at", "coupon_uses")
_LINE_DIGESTED = _names(LineData, "category_ids")
_NOTE_FIELDS = _names(RefundNote)
_USE_FIELDS = _names(CouponUse)


@dataclass(frozen=True)
class Stored:
    order_id: int
    changed: bool


def _columns(data: OrderData, now: datetime) -> dict[str, Any]:
    """The order's columns as this copy has them (without the attribution)."""
    goods = sum((line.total - line.refunded_total for line in data.lines), Decimal(0))
    return {
        "commissions_due_at": now,
        "number": data.number,
        "status": data.status,
        "currency": data.currency.upper(),
        "customer_id": data.customer_id,
        "customer_email": (data.customer_email or "").strip().lower() or None,
        "customer_ip_hash": keyed_hash(data.customer_ip) if data.customer_ip else None,
        "customer_ua_hash": (
            keyed_hash(data.customer_user_agent) if data.customer_user_agent else None
        ),
        "created_at_shop": data.created_at,
        "modified_at_shop": data.modified_at,
        "completed_at": data.completed_at,
        "refunded_unallocated": data.refunded_unallocated,
        "refund_notes": [
            {
                "refund_id": note.refund_id,
                "amount": str(note.amount),
                "goods": str(note.goods),
                "rule": note.rule,
            }
            for note in data.refunds
        ]
        or None,
        "shop_digest": data.digest,
        "net_total": max(Decimal(0), goods - data.refunded_unallocated),
    }


# What an attribution sets on an order that has none; the columns of a new order.
_ATTRIBUTION = (
    "distributor_id",
    "attribution_method",
    "attribution_evidence",
    "sub_id",
    "referrer_host",
    "renewal_of_id",
    "pickup_point_id",
    "pickup_buyer",
)


def _attribution(data: OrderData) -> dict[str, Any]:
    """The columns the copy's attribution sets (only those it sets)."""
    found = data.attribution
    if found is None:
        return {}
    columns = {
        "distributor_id": found.distributor_id,
        "attribution_method": found.method,
        "attribution_evidence": found.evidence,
        "sub_id": found.evidence.get("sub_id"),
        "referrer_host": found.evidence.get("referrer_host"),
    }
    if found.method == "renewal":
        columns["renewal_of_id"] = found.evidence["renewal_of_id"]
    if found.method == "pickup" and data.referral is not None:
        columns["pickup_point_id"] = found.evidence["pickup_point"]
        columns["pickup_buyer"] = data.referral.pickup_buyer
    return columns


def _line_columns(line: LineData) -> dict[str, Any]:
    return {
        "shop_line_id": line.shop_line_id,
        "product_id": line.product_id,
        "variation_id": line.variation_id,
        "category_ids": list(line.category_ids),
        "name": line.name[:255],
        "qty": line.qty,
        "total": line.total,
        "refunded_total": line.refunded_total,
    }


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


class _Stored(Protocol):
    """What :func:`is_news` compares a copy against: a stored order, or how a batch
    leaves it."""

    status: str
    modified_at_shop: datetime
    shop_digest: str | None


def is_news(order: _Stored, data: OrderData, revive: bool = False) -> bool:
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


@dataclass(eq=False)
class _Held:
    """An order as the batch leaves it: its stored state, then each copy taken applied.
    ``lines`` maps the shop line ids of its lines, in order, to their stored row ids
    (``None``: a line to insert); ``gone`` holds stored lines to delete."""

    id: int | None
    status: str
    modified_at_shop: datetime
    shop_digest: str | None
    attributed: bool
    copy: OrderData | None = None  # the last copy taken
    attribution: dict[str, Any] = field(default_factory=dict)  # set by this batch
    lines: dict[str, int | None] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)

    def news(self, data: OrderData, revive: bool) -> bool:
        """Whether the copy is news to the order as the batch has left it so far (then it
        is taken: the next copy is compared with it)."""
        stored = self.copy is not None or self.id is not None
        if stored and not is_news(self, data, revive):
            return False
        self.copy = data
        self.status, self.modified_at_shop = data.status, data.modified_at
        self.shop_digest = data.digest
        return True

    def take(self, data: OrderData) -> None:
        """Apply a copy that is news: the first attribution sticks; lines are kept by shop
        line id (their rows updated in place), a line the copy no longer has is deleted —
        and inserted again if a later copy brings it back."""
        if not self.attributed and data.attribution is not None:
            self.attribution = _attribution(data)
            self.attributed = True
        incoming = {line.shop_line_id for line in data.lines}
        for shop_line_id in [i for i in self.lines if i not in incoming]:
            stored = self.lines.pop(shop_line_id)
            if stored is not None:
                self.gone.append(stored)
        for line in data.lines:
            self.lines.setdefault(line.shop_line_id, None)


def _lock_many(keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Held]:
    """Lock and read the stored orders among ``keys``: PostgreSQL's row locks are taken in
    id order (concurrent batches cannot deadlock on them), SQLite's write lock by a no-op
    UPDATE before anything is read (SQLite ignores FOR UPDATE; the read after the UPDATE
    sees the winner's copy)."""
    found: dict[tuple[str, str], _Held] = {}
    for shop in {shop for shop, _ in keys}:
        wanted = Order.shop == shop, Order.shop_order_id.in_({i for s, i in keys if s == shop})
        if db.session.get_bind().dialect.name == "sqlite":
            db.session.execute(
                update(Order)
                .where(*wanted)
                .values(stored_at=Order.stored_at)
                .execution_options(synchronize_session=False)
            )
        for row in db.session.execute(
            select(
                Order.id,
                Order.shop_order_id,
                Order.status,
                Order.modified_at_shop,
                Order.shop_digest,
                Order.distributor_id,
            )
            .where(*wanted)
            .order_by(Order.id)
            .with_for_update(of=Order)
        ):
            found[(shop, row.shop_order_id)] = _Held(
                row.id,
                row.status,
                row.modified_at_shop,
                row.shop_digest,
                row.distributor_id is not None,
            )
    return found


def _read_lines(held: Sequence[_Held]) -> None:
    """The stored lines of orders the batch changes, in order (one query)."""
    by_id = {order.id: order for order in held}
    for order_id, shop_line_id, line_id in db.session.execute(
        select(OrderLine.order_id, OrderLine.shop_line_id, OrderLine.id)
        .where(OrderLine.order_id.in_(by_id))
        .order_by(OrderLine.id)
    ):
        by_id[order_id].lines[shop_line_id] = line_id


def _update(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE rows by id, one executemany per set of columns."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append({f"b_{k}": v for k, v in row.items()})
    for names, params in shapes.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in names if name != "id"})
        )
        db.session.execute(statement, params)


def _write(changed: Sequence[_Held]) -> None:
    """Write what the batch changed: new orders inserted (their ids read back), gone
    lines deleted, changed orders and lines updated, new lines inserted — a statement or
    an executemany each. Order objects the session holds of them are expired."""
    now = utcnow()
    orders, lines = Order.__table__, OrderLine.__table__
    new = [order for order in changed if order.id is None]
    existing = [order for order in changed if order.id is not None]
    if new:
        # A column the ORM would not have set is SQL NULL, not JSON null.
        blank = dict.fromkeys(_ATTRIBUTION) | {"attribution_evidence": null()}
        rows = [
            {"shop": order.copy.shop, "shop_order_id": order.copy.shop_order_id}
            | blank
            | _columns(order.copy, now)
            | order.attribution
            | {"stored_at": now, "commission_runs": 0}
            for order in new
            if order.copy is not None
        ]
        inserted = bulk.insert_rows(
            orders, rows, returning=(orders.c.shop, orders.c.shop_order_id, orders.c.id)
        )
        ids = {(shop, shop_order_id): id_ for shop, shop_order_id, id_ in inserted}
        for order in new:
            if order.copy is not None:
                order.id = ids[(order.copy.shop, order.copy.shop_order_id)]
    gone = [line_id for order in existing for line_id in order.gone]
    if gone:
        db.session.execute(delete(lines).where(lines.c.id.in_(gone)))
    _update(
        orders,
        [
            {"id": order.id} | _columns(order.copy, now) | order.attribution
            for order in existing
            if order.copy is not None
        ],
    )
    kept, added = [], []
    for order in changed:
        if order.copy is None:
            continue
        for line in order.copy.lines:
            line_id = order.lines[line.shop_line_id]
            columns = _line_columns(line)
            if line_id is None:
                added.append({"order_id": order.id} | columns)
            else:
                kept.append({"id": line_id} | columns)
    _update(lines, kept)
    bulk.insert_rows(lines, added)
    _forget([order.id for order in existing if order.id is not None])


def _forget(order_ids: Sequence[int]) -> None:
    """Expire the session's objects of orders written without it (and their lines)."""
    session = db.session()
    for order_id in order_ids:
        order = session.identity_map.get(identity_key(Order, order_id))
        if order is not None:
            for line in order.__dict__.get("lines", ()):
                session.expire(line)
            session.expire(order)


def store_orders(batch: Sequence[OrderData], revive: Sequence[bool] = ()) -> list[Stored]:
    """Store a batch of copies in the caller's transaction: written, not committed.

    Copies are taken in the given (arrival) order — one that is not news (:func:`is_news`)
    against the stored order, or an earlier copy in the batch, changes nothing, and the
    first attribution sticks — so the outcome is the one of storing them one by one, for
    one lock-and-read and a few statements per table: each order ends as the last copy
    taken leaves it, new orders and lines inserted in bulk, changed ones updated in bulk.
    ``revive`` flags the copies that are restores. Raises ``IntegrityError`` when another
    transaction inserted one of the new orders meanwhile: the caller rolls back and stores
    that batch one by one (:func:`store_order` settles the race).
    """
    held = _lock_many({(data.shop, data.shop_order_id) for data in batch})
    revives = list(revive) + [False] * (len(batch) - len(revive))
    seen: list[tuple[_Held, OrderData | None]] = []  # per copy: its order, and it if news
    for data, restore in zip(batch, revives, strict=True):
        order = held.setdefault(
            (data.shop, data.shop_order_id),
            _Held(None, data.status, data.modified_at, None, attributed=False),
        )
        seen.append((order, data if order.news(data, restore) else None))
    changed = list({id(order): order for order, data in seen if data is not None}.values())
    _read_lines([order for order in changed if order.id is not None])
    for order, data in seen:
        if data is not None:
            order.take(data)
    _write(changed)
    return [Stored(order.id, data is not None) for order, data in seen]
