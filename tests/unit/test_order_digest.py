"""The digest of a copy of an order is the one it always was (stored digests compare)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal as D

from portal.orders.services import (
    Attribution,
    CouponUse,
    LineData,
    OrderData,
    Referral,
    RefundNote,
)

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def reference(data: OrderData) -> str:
    """The digest as it was first defined, through ``dataclasses.asdict``."""
    content = asdict(data)
    for name in ("attribution", "referral", "modified_at"):
        content.pop(name)
    if not content["coupon_uses"]:
        content.pop("coupon_uses")
    for line in content["lines"]:
        line.pop("category_ids")
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def test_the_digest_is_the_one_of_asdict() -> None:
    plain = OrderData("1", "processing", "USD", T0, T0, (LineData("1", "P1", 1, D("5")),))
    rich = replace(
        plain,
        number="A-1",
        completed_at=T0,
        customer_email="b@example.com",
        customer_ip="203.0.113.9",
        lines=(
            LineData("1", "P1", 2, D("60.00"), ("7",), "71", 'Book "one"', D("10.00")),
            LineData("2", "P2", 1, D("40.00")),
        ),
        refunded_unallocated=D("3.10"),
        refunds=(RefundNote("r1", D("13.10"), D("13.10"), "lines"),),
        attribution=Attribution(1, "coupon", {"coupon": "A"}),
        referral=Referral(coupons=("a",), utm={"utm_source": "portal"}),
        coupon_uses=(CouponUse("credit-1", D("5.00")),),
    )
    for data in (plain, rich, replace(rich, coupon_uses=())):
        assert data.digest == reference(data)
    # What the portal adds (attribution, categories) and the time do not count.
    again = replace(rich, attribution=None, referral=None, modified_at=datetime.now(UTC))
    assert again.digest == rich.digest
    recategorised = replace(rich, lines=tuple(replace(x, category_ids=()) for x in rich.lines))
    assert recategorised.digest == rich.digest
