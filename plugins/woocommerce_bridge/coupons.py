"""Personal coupons: created in the shop through REST ``/coupons`` and linked to the
distributor, so an order using one is attributed to them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.client import WooError
from portal.accounts.models import User
from portal.audit import services as audit
from portal.distributors.models import Distributor, PersonalCoupon
from portal.extensions import db


def issue(distributor: Distributor, percent: Decimal, actor: User) -> PersonalCoupon:
    """Create the coupon (code = the distributor's referral code) in the shop. Commits."""
    if not Decimal(0) < percent <= Decimal(100):
        raise ValueError("the discount must be between 0 and 100 %")
    code = distributor.code
    if db.session.scalar(select(PersonalCoupon.id).where(PersonalCoupon.code == code)):
        raise WooError(f"coupon {code} was already issued")
    api = credentials.client()
    try:
        response = api.request(
            "POST",
            "/coupons",
            json={
                "code": code,
                "discount_type": "percent",
                "amount": str(percent),
                "individual_use": True,
                "description": f"Distribution portal: {distributor.display_name} ({code})",
            },
        )
    finally:
        api.close()
    created = response.json()
    coupon = PersonalCoupon(
        distributor_id=distributor.id,
        code=code,
        shop_coupon_id=str(created.get("id")),
        percent=str(percent),
    )
    db.session.add(coupon)
    audit.record(
        actor,
        "coupon.issue",
        "distributor",
        distributor.id,
        after={"code": code, "percent": str(percent), "shop_coupon_id": coupon.shop_coupon_id},
    )
    db.session.commit()
    return coupon
