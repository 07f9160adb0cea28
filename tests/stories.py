"""Stories told twice: a set of distributors, customers and order ids (a :class:`World`)
whose copies of orders — duplicates, out-of-order copies, an attribution only a later copy
carries, a line removed and brought back, refunds, deletions, restores, bad rows — are
taken once the reference way and once the way under test, in the same database; the two
worlds are compared by their natural keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal.commissions.models import Commission
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders.models import CustomerBinding, Order
from tests.woo import woo_order

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class World:
    """One set of distributors, customers and order ids."""

    def __init__(self, make_distributor: Callable[..., tuple[int, str]], name: str, base: int):
        self.name, self.base = name, base
        parent, _ = make_distributor(f"parent@{name}.example")
        seller, self.seller = make_distributor(f"seller@{name}.example", parent_id=parent)
        other, self.other = make_distributor(f"other@{name}.example")
        self.roles = {parent: "parent", seller: "seller", other: "other"}

    def order(self, n: int, minutes: int, **changes: Any) -> dict[str, Any]:
        """Order ``n`` of this world as the shop shows it ``minutes`` after T0."""
        coupon = changes.pop("coupon", None)
        payload = woo_order(
            self.base + n,
            status=changes.pop("status", "processing"),
            modified=(T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
            coupons=[coupon] if coupon else [],
            refunds=changes.pop("refunds", None),
        )
        payload["date_created_gmt"] = (T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S")
        payload["billing"]["email"] = f"buyer{n % 7}@{self.name}.example"
        if payload["status"] in ("completed", "refunded"):
            payload["date_completed_gmt"] = payload["date_modified_gmt"]
        payload.update(changes)
        return payload

    def story(self) -> list[dict[str, Any]]:
        """Over two pages of 100 copies, in the order the shop lists them."""
        s, o = self.seller, self.other
        copies = [self.order(n, n, coupon=(s, o, None, s, None)[n % 5]) for n in range(1, 201)]
        done = self.order(5, 300, status="completed", coupon=s)
        copies[10:10] = [done, self.order(5, 6, coupon=s), done]  # newer, older, duplicate
        copies[20:20] = [self.order(2, 301, coupon=s)]  # attributed by a later copy only
        copies[30:30] = [self.order(1, 302, coupon=s)]  # a later coupon does not steal it
        short = self.order(8, 303, coupon=s)
        short["line_items"] = short["line_items"][:1]
        copies[40:40] = [short, self.order(8, 304, status="completed", coupon=s)]  # line back
        bad = self.order(250, 305, coupon=s)
        bad["line_items"][0]["total"] = "lots"
        copies[50:50] = [bad]
        partial = [{"id": 1, "total": "-33.00"}]  # goods 30.00 of the total 110.00
        copies.append(self.order(5, 400, status="completed", coupon=s, refunds=partial))
        copies.append(self.order(6, 401, status="cancelled", coupon=s))
        full = [{"id": 2, "total": "-110.00"}]
        copies.append(self.order(10, 402, status="refunded", coupon=s, refunds=full))
        copies += [self.order(n, 500 + n, status="completed", coupon=s) for n in range(11, 25)]
        return copies

    def snapshot(self, app: Flask) -> dict[str, Any]:
        """Everything the story changed, by natural keys."""
        with app.app_context():
            roles = self.roles
            ids = range(self.base, self.base + 1000)
            mine = [
                o
                for o in db.session.scalars(select(Order).order_by(Order.shop_order_id))
                if int(o.shop_order_id) in ids
            ]
            stored = {
                int(o.shop_order_id) - self.base: (
                    o.status,
                    o.net_total,
                    o.refunded_unallocated,
                    roles.get(o.distributor_id),
                    o.attribution_method,
                    sorted((line.shop_line_id, line.qty, line.total) for line in o.lines),
                )
                for o in mine
            }
            by_order = {o.id: int(o.shop_order_id) - self.base for o in mine}
            earned = sorted(
                (by_order[c.order_id], roles[c.beneficiary_id], c.depth, c.state.value, c.amount)
                for c in db.session.scalars(
                    select(Commission).where(Commission.order_id.in_(by_order))
                )
            )
            balances = {
                role: {bucket.value: amount for bucket, amount in ledger.balances(i).items()}
                for i, role in roles.items()
            }
            bound = sorted(
                (b.kind, b.customer_key.split("@")[0], roles[b.distributor_id], b.expires_at)
                for b in db.session.scalars(select(CustomerBinding))
                if b.customer_key.endswith(f"@{self.name}.example")
            )
            return {"orders": stored, "commissions": earned, "balances": balances, "bound": bound}


def deliveries(world: World) -> list[tuple[str, dict[str, Any] | bytes]]:
    """The story as webhook deliveries, with a deletion, a restore and two bad bodies."""
    topics: list[tuple[str, dict[str, Any] | bytes]] = [
        ("order.updated", payload) for payload in world.story()
    ]
    topics[60:60] = [
        ("order.deleted", {"id": world.base + 7}),
        ("order.deleted", {"id": world.base + 12}),
        ("order.restored", world.order(12, 10**6, status="processing", coupon=world.seller)),
        ("order.deleted", {"no": "id"}),
    ]
    return topics
