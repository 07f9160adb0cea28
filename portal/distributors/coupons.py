"""Personal coupons as the portal wants them in the shop: their terms, and whether they
work (only while their distributor is active). Rows change here and are marked not
synced; the shop plugin pushes them (see ``PersonalCoupon``). Callers commit, then send
:data:`portal.distributors.signals.coupons_changed`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, exists, select, update

from portal.accounts.models import User
from portal.audit import services as audit
from portal.distributors.models import Distributor, DistributorStatus, PersonalCoupon
from portal.errors import ServiceError
from portal.extensions import db
from portal.settings import services as settings
from portal.timeutil import utcnow


class CouponError(ServiceError):
    """A coupon that cannot be issued, with a reason a person can read."""


@dataclass(frozen=True)
class Terms:
    """A coupon's discount (percent, 0 < p ≤ 100) and limits (None: no limit)."""

    percent: Decimal
    usage_limit: int | None = None
    usage_limit_per_user: int | None = None
    expires_at: datetime | None = None


def configured_terms() -> Terms:
    """The terms distributors issue their own coupon with (Admin → Settings)."""
    days = settings.get("coupon_valid_days")
    return Terms(
        percent=settings.get("coupon_percent"),
        usage_limit=settings.get("coupon_usage_limit") or None,
        usage_limit_per_user=settings.get("coupon_usage_limit_per_user") or None,
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )


def has_coupon(distributor_id: int) -> bool:
    return bool(
        db.session.scalar(select(exists().where(PersonalCoupon.distributor_id == distributor_id)))
    )


def new(distributor: Distributor, terms: Terms, actor: User) -> PersonalCoupon:
    """The distributor's coupon (code = their referral code), to be created in the shop.
    Audited; flushed, the caller commits."""
    if distributor.status is not DistributorStatus.ACTIVE:
        raise CouponError(_("Only active distributors get a coupon."))
    if not Decimal(0) < terms.percent <= Decimal(100):
        raise CouponError(_("The discount must be more than 0 and at most 100 %."))
    if db.session.scalar(select(PersonalCoupon.id).where(PersonalCoupon.code == distributor.code)):
        raise CouponError(_("Coupon %(code)s was already issued.", code=distributor.code))
    coupon = PersonalCoupon(
        distributor_id=distributor.id,
        code=distributor.code,
        percent=str(terms.percent),
        usage_limit=terms.usage_limit,
        usage_limit_per_user=terms.usage_limit_per_user,
        expires_at=terms.expires_at,
        active=True,
        synced=False,
    )
    db.session.add(coupon)
    db.session.flush()
    audit.record(
        actor,
        "coupon.issue",
        "distributor",
        distributor.id,
        after={
            "code": coupon.code,
            "percent": coupon.percent,
            "usage_limit": coupon.usage_limit,
            "usage_limit_per_user": coupon.usage_limit_per_user,
            "expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None,
        },
    )
    return coupon


def follow_status(distributor: Distributor) -> int:
    """The coupons work while their distributor is active: rows whose ``active`` differs
    are changed and marked to be pushed. Returns how many (flushed)."""
    wanted = distributor.status is DistributorStatus.ACTIVE
    result = db.session.execute(
        update(PersonalCoupon)
        .where(PersonalCoupon.distributor_id == distributor.id, PersonalCoupon.active != wanted)
        .values(active=wanted, synced=False)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def unsynced() -> Select[tuple[PersonalCoupon]]:
    """Coupons the shop does not have as they should be, oldest first."""
    return (
        select(PersonalCoupon).where(PersonalCoupon.synced.is_(False)).order_by(PersonalCoupon.id)
    )


def of(distributor_id: int) -> list[PersonalCoupon]:
    return list(
        db.session.scalars(
            select(PersonalCoupon)
            .where(PersonalCoupon.distributor_id == distributor_id)
            .order_by(PersonalCoupon.created_at, PersonalCoupon.id)
        )
    )
