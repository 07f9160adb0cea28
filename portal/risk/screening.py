"""The risk rules (本人订单不返佣, 同设备识别, 自买自销 and friends), run once per order when its
commission is first computed. Each rule is switched and tuned in the settings.

* ``self_purchase`` — the buyer is the attributed distributor (email or shop customer id);
* ``same_device`` — the buyer's address (setting ``ip``) or address or browser
  (``ip_or_ua``) matches one the distributor signs in from (keyed hashes on both sides);
* ``team_loop`` — the buyer is a distributor within three levels above or below;
* ``velocity`` — more attributed orders in the hour up to this one than the limit;
* ``large_order`` — the order's goods exceed the threshold.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select

from portal.accounts.models import User
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.orders.models import VOID_STATUSES, Order
from portal.risk.models import FlagStatus, LoginDevice, RiskFlag

TEAM_DEPTH = 3


@dataclass(frozen=True)
class Hit:
    rule: str
    evidence: dict[str, Any]


def _buyers(orders: list[Order]) -> dict[int, Distributor]:
    """Per order id, the distributor who placed the order, if the buyer is one: by email,
    else by shop customer id. One query for the whole batch."""
    emails = {o.customer_email for o in orders if o.customer_email}
    customer_ids = {o.customer_id for o in orders if o.customer_id}
    conditions = []
    if emails:
        conditions.append(User.email.in_(emails))
    if customer_ids:
        conditions.append(Distributor.shop_customer_id.in_(customer_ids))
    if not conditions:
        return {}
    by_email: dict[str, Distributor] = {}
    by_customer: dict[str, Distributor] = {}
    for distributor, email in db.session.execute(
        select(Distributor, User.email)
        .join(User, User.id == Distributor.user_id)
        .where(or_(*conditions))
        .order_by(Distributor.id)
    ):
        by_email.setdefault(email, distributor)
        if distributor.shop_customer_id:
            by_customer.setdefault(distributor.shop_customer_id, distributor)
    buyers = {}
    for order in orders:
        buyer = by_email.get(order.customer_email or "") or by_customer.get(order.customer_id or "")
        if buyer is not None:
            buyers[order.id] = buyer
    return buyers


def _relation(seller: Distributor, buyer: Distributor) -> str | None:
    """ "upline N" / "downline N" when the buyer is within three levels of the seller."""
    node: Distributor | None = seller
    for depth in range(1, TEAM_DEPTH + 1):
        node = node.parent if node is not None else None
        if node is not None and node.id == buyer.id:
            return f"upline {depth}"
    node = buyer
    for depth in range(1, TEAM_DEPTH + 1):
        node = node.parent if node is not None else None
        if node is not None and node.id == seller.id:
            return f"downline {depth}"
    return None


def _devices(
    orders: list[Order], sellers: dict[int, Distributor], mode: str
) -> dict[int, list[LoginDevice]]:
    """Per seller's user id, the sign-in devices that share an address (or, for
    ``ip_or_ua``, a browser) with any of the orders' buyers. One query for the batch."""
    ip_hashes = {o.customer_ip_hash for o in orders if o.customer_ip_hash}
    if mode == "off" or not ip_hashes:
        return {}
    matches = [LoginDevice.ip_hash.in_(ip_hashes)]
    ua_hashes = {o.customer_ua_hash for o in orders if o.customer_ua_hash}
    if mode == "ip_or_ua" and ua_hashes:
        matches.append(LoginDevice.ua_hash.in_(ua_hashes))
    users = {seller.user_id for seller in sellers.values()}
    found: dict[int, list[LoginDevice]] = {}
    for device in db.session.scalars(
        select(LoginDevice)
        .where(LoginDevice.user_id.in_(users), or_(*matches))
        .order_by(LoginDevice.id)
    ):
        found.setdefault(device.user_id, []).append(device)
    return found


def _same_device(order: Order, devices: list[LoginDevice], mode: str) -> Hit | None:
    """The buyer's address among the seller's devices, else (``ip_or_ua``) its browser."""
    if mode == "off" or not order.customer_ip_hash:
        return None
    device = next((d for d in devices if d.ip_hash == order.customer_ip_hash), None)
    same = "address"
    if device is None and mode == "ip_or_ua" and order.customer_ua_hash:
        device = next((d for d in devices if d.ua_hash == order.customer_ua_hash), None)
        same = "browser"
    if device is None:
        return None
    return Hit("same_device", {"same": same, "last_seen": device.last_seen.isoformat()})


def evaluate(
    order: Order,
    seller: Distributor,
    buyer: Distributor | None,
    devices: list[LoginDevice],
    values: dict[str, Any],
) -> list[Hit]:
    """The rules that catch ``order``; ``devices`` are the seller's sign-in devices that
    may match the buyer (see :func:`_devices`)."""
    hits = []
    if values["risk_self_purchase"] and buyer is not None and buyer.id == seller.id:
        hits.append(Hit("self_purchase", {"buyer": seller.code}))
    device_hit = _same_device(order, devices, values["risk_same_device"])
    if device_hit is not None:
        hits.append(device_hit)
    if values["risk_team_loop"] and buyer is not None and buyer.id != seller.id:
        relation = _relation(seller, buyer)
        if relation is not None:
            hits.append(Hit("team_loop", {"buyer": buyer.code, "relation": relation}))
    limit = values["risk_velocity_per_hour"]
    if limit:
        recent = db.session.scalar(
            select(func.count(Order.id)).where(
                Order.distributor_id == seller.id,
                Order.created_at_shop > order.created_at_shop - timedelta(hours=1),
                Order.created_at_shop <= order.created_at_shop,
                Order.status.not_in(VOID_STATUSES),
            )
        )
        if recent > limit:
            hits.append(Hit("velocity", {"orders_in_hour": recent, "limit": limit}))
    threshold = values["risk_large_order"]
    if threshold > 0 and order.net_total > threshold:
        hits.append(
            Hit("large_order", {"total": str(order.net_total), "threshold": str(threshold)})
        )
    return hits


def screen(orders: Iterable[Order], values: dict[str, Any]) -> None:
    """Flag the orders (being computed for the first time, or again after ops re-assigned
    them) that any rule catches; a rule already decided for an order is not raised again."""
    orders = [o for o in orders if o.distributor_id is not None]
    if not orders:
        return
    known = set(
        db.session.execute(
            select(RiskFlag.order_id, RiskFlag.rule).where(
                RiskFlag.order_id.in_([o.id for o in orders])
            )
        ).all()
    )
    buyers = _buyers(orders)
    sellers = {
        d.id: d
        for d in db.session.scalars(
            select(Distributor).where(Distributor.id.in_({o.distributor_id for o in orders}))
        )
    }
    devices = _devices(orders, sellers, values["risk_same_device"])
    for order in orders:
        seller = sellers.get(order.distributor_id)
        if seller is None:
            continue
        seen = devices.get(seller.user_id, [])
        for hit in evaluate(order, seller, buyers.get(order.id), seen, values):
            if (order.id, hit.rule) in known:
                continue
            db.session.add(
                RiskFlag(
                    order_id=order.id,
                    distributor_id=seller.id,
                    rule=hit.rule,
                    evidence=hit.evidence,
                )
            )


def holds(order_ids: list[int]) -> dict[int, tuple[FlagStatus, list[str]]]:
    """Per flagged order: ``open`` while any flag is undecided, else ``rejected`` if any
    was rejected, else ``released``; with the rules that fired."""
    result: dict[int, tuple[FlagStatus, list[str]]] = {}
    if not order_ids:
        return result
    rank = {FlagStatus.RELEASED: 0, FlagStatus.REJECTED: 1, FlagStatus.OPEN: 2}
    for order_id, rule, status in db.session.execute(
        select(RiskFlag.order_id, RiskFlag.rule, RiskFlag.status).where(
            RiskFlag.order_id.in_(order_ids)
        )
    ):
        current, rules = result.get(order_id, (FlagStatus.RELEASED, []))
        if rank[status] > rank[current]:
            current = status
        result[order_id] = (current, [*rules, rule])
    return result


def install() -> None:
    """Screen and hold orders in every commission run (idempotent)."""
    from portal.commissions import services as commissions

    this = sys.modules[__name__]
    if this not in commissions.SCREENING:
        commissions.SCREENING.append(this)
