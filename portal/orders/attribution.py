"""Who brought an order, and the evidence for it.

Precedence (DESIGN.md): a distributor's coupon > the ``_portal_ref`` order meta written by
the companion plugin > WooCommerce order-attribution utm values (``utm_source=portal``,
``utm_campaign=<code>``) > customer binding (a customer once referred stays with that
distributor for ``binding_days``; 0 = off). Only active distributors are credited. The
method and the evidence are stored on the order, so "why didn't I get this?" answers
itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.orders.models import CustomerBinding
from portal.orders.services import Attribution
from portal.settings import services as settings


def _customer_keys(email: str | None, customer_id: str | None) -> list[tuple[str, str]]:
    keys = []
    if customer_id:
        keys.append(("customer", customer_id))
    if email:
        keys.append(("email", email.strip().lower()))
    return keys


def _bound(keys: list[tuple[str, str]], at: datetime) -> tuple[Distributor, CustomerBinding] | None:
    for kind, key in keys:
        binding = db.session.scalar(
            select(CustomerBinding).where(
                CustomerBinding.kind == kind, CustomerBinding.customer_key == key
            )
        )
        if binding is None or binding.expires_at <= at:
            continue
        distributor = db.session.get(Distributor, binding.distributor_id)
        if distributor is not None and distributor.status is DistributorStatus.ACTIVE:
            return distributor, binding
    return None


def bind(distributor_id: int, email: str | None, customer_id: str | None, at: datetime) -> None:
    """Bind the customer to the distributor unless a binding is still running (the first
    referral keeps the customer until it expires). The caller commits."""
    days = settings.get("binding_days")
    if not days:
        return
    for kind, key in _customer_keys(email, customer_id):
        binding = db.session.scalar(
            select(CustomerBinding).where(
                CustomerBinding.kind == kind, CustomerBinding.customer_key == key
            )
        )
        if binding is not None and binding.expires_at > at:
            continue
        binding = binding or CustomerBinding(kind=kind, customer_key=key)
        binding.distributor_id = distributor_id
        binding.bound_at = at
        binding.expires_at = at + timedelta(days=days)
        db.session.add(binding)


def resolve(
    coupons: Iterable[str],
    portal_ref: str | None,
    utm: Mapping[str, str],
    customer_email: str | None = None,
    customer_id: str | None = None,
    at: datetime | None = None,
) -> Attribution | None:
    """The first method (in precedence order) that names an active distributor."""
    evidence: dict[str, Any] = {
        "coupons": list(coupons),
        "portal_ref": portal_ref,
        "utm": dict(utm),
    }
    candidates = [("coupon", code) for code in evidence["coupons"]]
    if portal_ref:
        candidates.append(("ref_meta", portal_ref))
    if utm.get("utm_source") == "portal" and utm.get("utm_campaign"):
        candidates.append(("utm", utm["utm_campaign"]))
    for method, code in candidates:
        distributor = distributors.find_active(code)
        if distributor is not None:
            return Attribution(distributor.id, method, {**evidence, "matched": code})
    if at is not None and settings.get("binding_days"):
        bound = _bound(_customer_keys(customer_email, customer_id), at)
        if bound is not None:
            distributor, binding = bound
            return Attribution(
                distributor.id,
                "binding",
                {
                    **evidence,
                    "matched": distributor.code,
                    "bound_at": binding.bound_at.isoformat(),
                    "expires_at": binding.expires_at.isoformat(),
                },
            )
    return None
