"""What the Shop page (:mod:`plugins.woocommerce_bridge.admin`) reads, and its actions
that call the shop: a refusal (``WooError``) keeps nothing of the action — the session is
rolled back before the error reaches the page, which then redirects with the reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from plugins.woocommerce_bridge import connection, coupons, inbox, sync
from plugins.woocommerce_bridge.client import WooError
from plugins.woocommerce_bridge.models import WooDelivery, WooSyncState
from portal.accounts.models import User
from portal.distributors import coupons as personal
from portal.distributors.models import PersonalCoupon
from portal.extensions import db
from portal.pagination import paginate

T = TypeVar("T")
LATEST_COUPONS = 50


def page_data(failed_only: bool) -> dict[str, Any]:
    """The stored state the Shop page shows: the sync state, the delivery log (a page of
    it, failed ones only if asked), the coupons not synced and the latest coupons."""
    return {
        "state": db.session.get(WooSyncState, 1),
        "failed": db.session.scalar(inbox.failed_count()),
        "page": paginate(inbox.deliveries_query(failed=failed_only)),
        "unsynced": db.session.scalar(
            select(func.count()).select_from(personal.unsynced().subquery())
        ),
        "coupons": db.session.scalars(
            select(PersonalCoupon)
            .options(selectinload(PersonalCoupon.distributor))
            .order_by(PersonalCoupon.synced, PersonalCoupon.id.desc())
            .limit(LATEST_COUPONS)
        ).all(),
    }


def delivery(delivery_id: int) -> WooDelivery | None:
    return db.session.get(WooDelivery, delivery_id)


def _kept_only_if_done(action: Callable[[], T]) -> T:
    try:
        return action()
    except WooError:
        db.session.rollback()
        raise


def connect(
    store_url: str, key: str, secret: str, delivery_url: str, actor: User
) -> connection.Connected:
    return _kept_only_if_done(
        lambda: connection.connect(store_url, key, secret, delivery_url, actor)
    )


def repair_webhooks(delivery_url: str, actor: User) -> connection.Repair:
    return _kept_only_if_done(lambda: connection.repair_webhooks(delivery_url, actor))


def reactivate(webhook_id: int, actor: User) -> bool:
    return _kept_only_if_done(lambda: connection.reactivate(webhook_id, actor))


def push_pending() -> tuple[int, int]:
    return _kept_only_if_done(coupons.push_pending)


def check_connection() -> tuple[bool, str | None, str]:
    """One cheap REST call: (worked, the shop's order count, or why not). How it went is
    kept for the page either way."""
    try:
        return True, sync.test_connection(), ""
    except WooError as exc:
        return False, None, str(exc)
