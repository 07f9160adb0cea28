"""Who brought an order, and the evidence for it.

Precedence (DESIGN.md): collection at a group leader's approved pickup point (the order
is the leader's: they hand it over) > a distributor's coupon > the ``_portal_ref`` order
meta written by the companion plugin > the shop's order-attribution utm values
(``utm_source=portal``, ``utm_campaign=<code>``) > customer binding (a customer once
referred stays with that distributor for ``binding_days``; 0 = off). Only active
distributors are credited. The method and the evidence are stored on the order, so "why
didn't I get this?" answers itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.orders.models import CustomerBinding, Order
from portal.orders.services import Attribution, OrderData
from portal.settings import services as settings

# The approved pickup point of each of these leaders (distributor id -> point id), as
# the pickup package answers it: it registers the one function at start-up
# (``portal.pickup.services.install``), so orders never import it.
ApprovedPoints = Callable[[set[int]], dict[int, int]]
APPROVED_POINTS: list[ApprovedPoints] = []

# Methods that credit the link the buyer followed (its sub-id is then this order's).
LINK_METHODS = frozenset({"ref_meta", "utm"})


@dataclass(frozen=True)
class Claim:
    """What one order says about who brought it."""

    coupons: tuple[str, ...]
    portal_ref: str | None
    utm: Mapping[str, str]
    customer_email: str | None
    customer_id: str | None
    at: datetime
    sub_id: str | None = None
    referrer_host: str | None = None
    pickup_code: str | None = None
    pickup_point: int | None = None

    def candidates(self) -> list[tuple[str, str]]:
        """(method, code) in precedence order."""
        found = [("pickup", self.pickup_code)] if self.pickup_code and self.pickup_point else []
        found += [("coupon", code) for code in self.coupons]
        if self.portal_ref:
            found.append(("ref_meta", self.portal_ref))
        if self.utm.get("utm_source") == "portal" and self.utm.get("utm_campaign"):
            found.append(("utm", self.utm["utm_campaign"]))
        return found

    def customer_keys(self) -> list[tuple[str, str]]:
        keys = []
        if self.customer_id:
            keys.append(("customer", self.customer_id))
        if self.customer_email:
            keys.append(("email", self.customer_email.strip().lower()))
        return keys


class Attributor:
    """Attributes a batch of orders one after another, as if each were stored before the
    next, with three queries whatever the batch size.

    Made with every claim the batch may ask about: it loads the active distributors their
    codes name, the customers' bindings and the distributors those name. An order credited
    by a code binds its customer (the first referral keeps the customer until the binding
    expires), so a later order of that customer in the batch finds the binding; bindings
    made or renewed are added to the session (the caller commits).
    """

    def __init__(self, claims: Iterable[Claim]) -> None:
        claims = list(claims)
        named = {codes.normalise(code) for claim in claims for _, code in claim.candidates()}
        named = {code for code in named if codes.is_well_formed(code)}
        self.active_by_code: dict[str, int] = {}
        if named:
            self.active_by_code = dict(
                db.session.execute(
                    select(Distributor.code, Distributor.id).where(
                        Distributor.code.in_(named),
                        Distributor.status == DistributorStatus.ACTIVE,
                    )
                ).all()
            )
        # The approved pickup point of each leader a claim names: distributor id -> point.
        self.points: dict[int, int] = {}
        claimed = {self.active_by_code.get(codes.normalise(c.pickup_code or "")) for c in claims}
        claimed.discard(None)
        if claimed and APPROVED_POINTS:
            self.points = APPROVED_POINTS[0](claimed)
        self.days = settings.get("binding_days")
        self.bindings = _bindings(claims) if self.days else {}
        self.codes_by_id = {id_: code for code, id_ in self.active_by_code.items()}
        bound = {b.distributor_id for b in self.bindings.values()} - self.codes_by_id.keys()
        if bound:
            self.codes_by_id.update(
                db.session.execute(
                    select(Distributor.id, Distributor.code).where(
                        Distributor.id.in_(bound), Distributor.status == DistributorStatus.ACTIVE
                    )
                ).all()
            )

    def credit(self, claim: Claim) -> Attribution | None:
        """The first method (in precedence order) that names an active distributor."""
        evidence: dict[str, Any] = {
            "coupons": list(claim.coupons),
            "portal_ref": claim.portal_ref,
            "utm": dict(claim.utm),
        }
        if claim.referrer_host:
            evidence["referrer_host"] = claim.referrer_host
        for method, code in claim.candidates():
            distributor_id = self.active_by_code.get(codes.normalise(code))
            if method == "pickup":  # only at the leader's own point, as ops approved it
                if distributor_id is None or self.points.get(distributor_id) != claim.pickup_point:
                    continue
                evidence["pickup_point"] = claim.pickup_point
            if distributor_id is not None:
                if self.days:
                    self._bind(distributor_id, claim)
                found = {**evidence, "matched": code}
                if claim.sub_id and method in LINK_METHODS:
                    found["sub_id"] = claim.sub_id  # the sub-id is of this distributor's link
                return Attribution(distributor_id, method, found)
        for key in claim.customer_keys():
            binding = self.bindings.get(key)
            if (
                binding is not None
                and binding.expires_at > claim.at
                and binding.distributor_id in self.codes_by_id
            ):
                return Attribution(
                    binding.distributor_id,
                    "binding",
                    {
                        **evidence,
                        "matched": self.codes_by_id[binding.distributor_id],
                        "bound_at": binding.bound_at.isoformat(),
                        "expires_at": binding.expires_at.isoformat(),
                    },
                )
        return None

    def _bind(self, distributor_id: int, claim: Claim) -> None:
        """Bind the customer unless a binding is still running at the order's time."""
        for kind, key in claim.customer_keys():
            binding = self.bindings.get((kind, key))
            if binding is not None and binding.expires_at > claim.at:
                continue
            if binding is None:
                binding = self.bindings[(kind, key)] = CustomerBinding(kind=kind, customer_key=key)
                db.session.add(binding)
            binding.distributor_id = distributor_id
            binding.bound_at = claim.at
            binding.expires_at = claim.at + timedelta(days=self.days)


def _bindings(claims: Sequence[Claim]) -> dict[tuple[str, str], CustomerBinding]:
    keys = {key for claim in claims for key in claim.customer_keys()}
    if not keys:
        return {}
    found = db.session.scalars(
        select(CustomerBinding).where(
            CustomerBinding.customer_key.in_({customer_key for _, customer_key in keys})
        )
    )
    return {(b.kind, b.customer_key): b for b in found if (b.kind, b.customer_key) in keys}


class Renewals:
    """Subscription renewals of a batch (two queries whatever its size): a renewal whose
    original order is stored and credited to a distributor still active is credited to
    them — before any other method, since the subscription is what they sold — with its
    number among that order's renewals and the months since it, which the plan's renewal
    terms are read against (``portal.commissions.engine.for_renewal``)."""

    def __init__(self, copies: Sequence[OrderData]) -> None:
        wanted = {
            (d.shop, d.referral.renewal_of) for d in copies if d.referral and d.referral.renewal_of
        }
        self.parents: dict[tuple[str, str], tuple[int, int, str, datetime]] = {}
        self.seen: dict[int, list[tuple[datetime, str]]] = {}
        if not wanted:
            return
        for shop in {shop for shop, _ in wanted}:
            ids = {order_id for s, order_id in wanted if s == shop}
            for order_id, distributor_id, shop_order_id, number, created in db.session.execute(
                select(
                    Order.id,
                    Order.distributor_id,
                    Order.shop_order_id,
                    Order.number,
                    Order.created_at_shop,
                )
                .join(Distributor, Distributor.id == Order.distributor_id)
                .where(
                    Order.shop == shop,
                    Order.shop_order_id.in_(ids),
                    Distributor.status == DistributorStatus.ACTIVE,
                )
            ):
                self.parents[(shop, shop_order_id)] = (
                    order_id,
                    distributor_id,
                    number or shop_order_id,
                    created,
                )
        parent_ids = [p[0] for p in self.parents.values()]
        if parent_ids:
            for parent_id, created, shop_order_id in db.session.execute(
                select(Order.renewal_of_id, Order.created_at_shop, Order.shop_order_id).where(
                    Order.renewal_of_id.in_(parent_ids)
                )
            ):
                self.seen.setdefault(parent_id, []).append((created, shop_order_id))

    def credit(self, data: OrderData) -> Attribution | None:
        renewal_of = data.referral.renewal_of if data.referral else None
        parent = self.parents.get((data.shop, renewal_of)) if renewal_of else None
        if parent is None:
            return None
        parent_id, distributor_id, number, created = parent
        earlier = self.seen.setdefault(parent_id, [])
        if (data.created_at, data.shop_order_id) not in earlier:
            earlier.append((data.created_at, data.shop_order_id))  # later copies count it
        position = (
            sum(
                1
                for at, shop_id in earlier
                if (at, shop_id) < (data.created_at, data.shop_order_id)
            )
            + 1
        )
        months = (data.created_at.year - created.year) * 12 + data.created_at.month - created.month
        if data.created_at.day < created.day:
            months -= 1
        return Attribution(
            distributor_id,
            "renewal",
            {
                "renewal_of": number,
                "renewal_of_id": parent_id,
                "renewal_number": position,
                "renewal_months": max(months, 0),
            },
        )
