"""Personal coupons in the shop over REST ``/coupons``: created (``POST``) with the
distributor's code, discount, limits and expiry, so an order using one is attributed to
them, and disabled or restored (``PUT /coupons/<id>`` with ``status`` ``draft`` or
``publish``) as their distributor is suspended or reactivated.

The portal keeps what each coupon should be (``PersonalCoupon``); :func:`push` makes
the shop match. It runs right after a change (a queued job on the core's
``coupons_changed`` signal) and on every reconcile for what is still not synced, the
shop's refusal kept on the row for Admin → Shop and the distributor page."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.client import WooClient, WooError
from portal.accounts.models import User
from portal.distributors import coupons as personal
from portal.distributors.models import Distributor, DistributorStatus, PersonalCoupon
from portal.extensions import db
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
PUSH_BATCH = 100  # coupons pushed per reconcile


def _status(coupon: PersonalCoupon) -> str:
    return "publish" if coupon.active else "draft"


def _created(coupon: PersonalCoupon) -> dict[str, Any]:
    """The ``POST /coupons`` body (WC_REST_Coupons_Controller's schema)."""
    body: dict[str, Any] = {
        "code": coupon.code,
        "status": _status(coupon),
        "discount_type": "percent",
        "amount": coupon.percent,
        "individual_use": True,
        "description": f"Distribution portal: {coupon.distributor.display_name} ({coupon.code})",
    }
    if coupon.usage_limit:
        body["usage_limit"] = coupon.usage_limit
    if coupon.usage_limit_per_user:
        body["usage_limit_per_user"] = coupon.usage_limit_per_user
    if coupon.expires_at is not None:
        body["date_expires_gmt"] = coupon.expires_at.strftime("%Y-%m-%dT%H:%M:%S")
    return body


def push(api: WooClient, coupon: PersonalCoupon) -> None:
    """Make the shop's coupon what the row says: create it, or set its status. Raises
    ``WooError``; flushed, the caller commits."""
    coupon.last_attempt_at = utcnow()
    if coupon.shop_coupon_id is None:
        created = api.json("POST", "/coupons", json=_created(coupon))
        if not isinstance(created, dict) or created.get("id") in (None, ""):
            raise WooError("the shop's answer to POST /coupons has no coupon id")
        coupon.shop_coupon_id = str(created["id"])
    else:
        api.json("PUT", f"/coupons/{coupon.shop_coupon_id}", json={"status": _status(coupon)})
    coupon.synced, coupon.last_error = True, None
    db.session.flush()


def push_each(api: WooClient, wanted: Iterable[PersonalCoupon]) -> tuple[int, int]:
    """Push each coupon alone, committing each: one the shop refuses keeps the reason
    and the rest go on. Returns (pushed, failed)."""
    pushed = failed = 0
    for coupon in wanted:
        coupon_id = coupon.id
        try:
            push(api, coupon)
        except WooError as exc:
            db.session.rollback()
            kept = db.session.get(PersonalCoupon, coupon_id)
            if kept is not None:
                kept.last_error, kept.last_attempt_at = str(exc), utcnow()
            log.warning("woocommerce: coupon %s not applied: %s", coupon_id, exc)
            failed += 1
        else:
            pushed += 1
        db.session.commit()
    return pushed, failed


def push_unsynced(api: WooClient, limit: int = PUSH_BATCH) -> tuple[int, int]:
    """The reconcile's retry: the oldest ``limit`` coupons not synced."""
    return push_each(api, list(db.session.scalars(personal.unsynced().limit(limit))))


def push_pending(
    distributor_id: int | None = None, limit: int = PUSH_BATCH, **client: Any
) -> tuple[int, int]:
    """Push the coupons that are not synced (of one distributor, or the oldest
    ``limit``): the queued job after a change, and the Shop page's retry. Commits."""
    query = personal.unsynced().limit(limit)
    if distributor_id is not None:
        query = query.where(PersonalCoupon.distributor_id == distributor_id)
    wanted = list(db.session.scalars(query))
    if not wanted:
        return 0, 0
    api = credentials.client(**client)
    try:
        return push_each(api, wanted)
    finally:
        api.close()


def issue(distributor: Distributor, terms: personal.Terms, actor: User) -> PersonalCoupon:
    """Create the coupon in the shop now; nothing is kept when the shop refuses
    (``WooError``) or the coupon cannot be issued (``CouponError``). Commits."""
    try:
        coupon = personal.new(distributor, terms, actor)
        api = credentials.client()
        try:
            push(api, coupon)
        finally:
            api.close()
    except (WooError, personal.CouponError):
        db.session.rollback()
        raise
    db.session.commit()
    return coupon


@dataclass(frozen=True)
class Issued:
    """One row of a bulk issue: the distributor and the coupon, or why not."""

    code: str
    name: str
    coupon: str | None = None
    error: str | None = None


def issue_many(
    distributors: Iterable[Distributor], terms: personal.Terms, actor: User
) -> list[Issued]:
    """Issue a coupon to each distributor, each alone: a failure never stops the rest."""
    results = []
    for distributor in distributors:
        code, name = distributor.code, distributor.display_name
        try:
            coupon = issue(distributor, terms, actor)
        except (WooError, personal.CouponError) as exc:
            results.append(Issued(code, name, error=str(exc)))
        else:
            results.append(Issued(code, name, coupon=coupon.code))
    return results


def without_coupon(limit: int) -> list[Distributor]:
    """Active distributors without a coupon, oldest first (bulk issue's "all")."""
    return list(
        db.session.scalars(
            select(Distributor)
            .where(
                Distributor.status == DistributorStatus.ACTIVE,
                ~Distributor.id.in_(select(PersonalCoupon.distributor_id)),
            )
            .order_by(Distributor.id)
            .limit(limit)
        )
    )
