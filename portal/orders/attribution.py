"""Who brought an order, and the evidence for it.

Precedence (DESIGN.md): a distributor's coupon > the ``_portal_ref`` order meta written by
the companion plugin > WooCommerce order-attribution utm values (``utm_source=portal``,
``utm_campaign=<code>``). Only active distributors are credited. The method and the
evidence are stored on the order, so "why didn't I get this?" answers itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portal.distributors import services as distributors
from portal.orders.services import Attribution


def resolve(
    coupons: Iterable[str], portal_ref: str | None, utm: Mapping[str, str]
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
        distributor = distributors.find_active(code)  # active distributors only
        if distributor is not None:
            return Attribution(distributor.id, method, {**evidence, "matched": code})
    return None
