"""The one way orders come in, whatever brought them (a webhook drain, a REST sync, a
replay): a batch of units — copies of orders as the shop sent them, removals — stored in
arrival order and their commissions run in the same unit of work, so an order is never
stored without its commissions (a crash rolls back both).

Shop plugins map their payloads to :class:`Copy` and :class:`Removal` and call
:func:`take` through :func:`each_alone`, which gives every item of a batch its own fate:
the batch in one transaction, and when anything in it fails, each item in a transaction
of its own, the one that fails again handed back with its error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.catalogue.models import Product
from portal.commissions import services as commissions
from portal.extensions import db
from portal.orders import attribution, signals
from portal.orders import services as orders
from portal.orders.models import Order

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Copy:
    """A copy of an order as the shop sent it; ``revive``: a restore of a trashed one."""

    data: orders.OrderData
    revive: bool = False


@dataclass(frozen=True)
class Removal:
    """The shop removed an order: ``trash`` (it may come back) or ``deleted`` (for good)."""

    shop: str
    shop_order_id: str
    status: str = "trash"


Unit = Copy | Removal


def _claim(data: orders.OrderData) -> attribution.Claim:
    referral = data.referral or orders.Referral()
    return attribution.Claim(
        referral.coupons,
        referral.portal_ref,
        referral.utm,
        data.customer_email,
        data.customer_id,
        data.created_at,
        referral.sub_id,
        referral.referrer_host,
        referral.pickup_code,
        referral.pickup_point,
    )


def prepare(copies: Sequence[orders.OrderData]) -> list[orders.OrderData]:
    """Give copies (in arrival order) their lines' catalogue categories and their
    attribution — unless the stored order, or an earlier copy in the batch that will be
    stored, has one (recorded once: a stored attribution is only changed by an admin).
    One query for the categories, one for the stored orders and three for attribution,
    whatever the batch size."""
    if not copies:
        return []
    categories = dict(
        db.session.execute(
            select(Product.product_id, Product.category_ids).where(
                Product.product_id.in_({line.product_id for d in copies for line in d.lines})
            )
        ).all()
    )
    # (shop, shop order id) -> (modified at the shop, attributed) of the copy to be stored
    stored: dict[tuple[str, str], tuple[datetime, bool]] = {}
    for shop in {d.shop for d in copies}:
        wanted = {d.shop_order_id for d in copies if d.shop == shop}
        for shop_order_id, modified, distributor_id in db.session.execute(
            select(Order.shop_order_id, Order.modified_at_shop, Order.distributor_id).where(
                Order.shop == shop, Order.shop_order_id.in_(wanted)
            )
        ):
            stored[(shop, shop_order_id)] = (modified, distributor_id is not None)
    claims = [_claim(data) for data in copies]
    attributor = attribution.Attributor(claims)
    renewals = attribution.Renewals(copies)
    result = []
    for claim, data in zip(claims, copies, strict=True):
        key = (data.shop, data.shop_order_id)
        modified, attributed = stored.get(key, (None, False))
        lines = tuple(
            replace(line, category_ids=tuple(categories.get(line.product_id) or ()))
            for line in data.lines
        )
        credited = None
        if not attributed:
            credited = renewals.credit(data) or attributor.credit(claim)
        data = replace(data, lines=lines, attribution=credited)
        if modified is None or data.modified_at >= modified:
            stored[key] = (data.modified_at, attributed or data.attribution is not None)
        result.append(data)
    return result


def _remove(removal: Removal) -> int | None:
    order = db.session.scalar(
        select(Order)
        .where(Order.shop == removal.shop, Order.shop_order_id == removal.shop_order_id)
        .with_for_update()
    )
    if order is None:
        return None
    orders.trash(order, removal.status)
    return order.id


def take(units: Sequence[Unit], now: datetime | None = None) -> list[orders.Stored | None]:
    """Store the units in arrival order and run the commissions of every order they
    changed, in the caller's transaction (flushed, not committed). Returns what each unit
    did to its order (``None`` for the removal of an order the portal never had)."""
    copies = iter(prepare([unit.data for unit in units if isinstance(unit, Copy)]))
    result: list[orders.Stored | None] = []
    changed: set[int] = set()
    segment: list[tuple[orders.OrderData, bool]] = []
    spending: list[orders.OrderData] = []  # copies stored that used coupons

    def store_segment() -> None:
        if segment:
            stored = orders.store_orders([d for d, _ in segment], [r for _, r in segment])
            result.extend(stored)
            changed.update(s.order_id for s in stored if s.changed)
            spending.extend(
                d for (d, _), s in zip(segment, stored, strict=True) if s.changed and d.coupon_uses
            )
            segment.clear()

    for unit in units:
        if isinstance(unit, Copy):
            segment.append((next(copies), unit.revive))
            continue
        store_segment()  # what came before the removal is stored before it
        order_id = _remove(unit)
        result.append(None if order_id is None else orders.Stored(order_id, changed=True))
        if order_id is not None:
            changed.add(order_id)
    store_segment()
    if changed:
        commissions.run_orders(sorted(changed), now)
    signals.copies_stored.send(spending)
    return result


def each_alone(
    items: Sequence[T],
    run: Callable[[Sequence[T]], list[R]],
    failed: Callable[[T, Exception], None],
) -> list[R]:
    """``run(items)`` in one transaction, committed. When it raises, roll back and run
    each item in a transaction of its own — a race with a concurrent intake (a unique
    index, a deadlock) gets a second try — and hand an item that still fails, rolled
    back, to ``failed`` with its error, in a transaction of its own. One bad item never
    blocks the others. Returns what the runs that were committed returned, in order."""
    if len(items) > 1:
        try:
            done = run(items)
            db.session.commit()
            return done
        except Exception as exc:  # any failure: each item alone
            db.session.rollback()
            log.info("intake: batch of %d taken one by one (%r)", len(items), exc)
    done: list[R] = []
    for item in items:
        for attempt in range(2):
            try:
                done += run([item])
                db.session.commit()
            except (IntegrityError, OperationalError) as exc:
                db.session.rollback()
                if attempt == 0:
                    continue
                failed(item, exc)
                db.session.commit()
            except Exception as exc:  # recorded on the item, visible to ops
                db.session.rollback()
                failed(item, exc)
                db.session.commit()
            break
    return done
