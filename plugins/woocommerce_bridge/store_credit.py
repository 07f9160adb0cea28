"""Store credit as WooCommerce coupons over REST ``/coupons`` (the core's
``StoreCreditIssuer``, registered by the bridge's ``load``).

A coupon is ``discount_type`` ``fixed_cart`` for the credit's amount, usable once
(``usage_limit`` 1) and only by the distributor's email (``email_restrictions``), and it
combines with other coupons (``individual_use`` false) so a personal or promotional coupon
still applies. ``GET /coupons?code=`` finds one by its code (the portal asks before it
creates, so a crash between storing and the shop's answer makes no second coupon; the
shop refuses a code it has anyway). Spent or taken back, it is deleted for good
(``DELETE /coupons/<id>?force=true``; without ``force`` it would only go to the bin)."""

from __future__ import annotations

from typing import Any

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.client import WooError, WooNotFound
from portal.money import round_money
from portal.withdrawals.credit import Coupon, IssuerError

QUICK = {"timeout": 10, "retries": 1, "backoff": 0.2}


def body(coupon: Coupon) -> dict[str, Any]:
    """The ``POST /coupons`` body (WC_REST_Coupons_Controller's schema: amounts are
    decimal strings)."""
    return {
        "code": coupon.code,
        "status": "publish",
        "discount_type": "fixed_cart",
        "amount": str(round_money(coupon.amount, coupon.currency)),
        "individual_use": False,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "email_restrictions": [coupon.email],
        "description": coupon.description,
    }


class WooStoreCredit:
    """Each call opens its own short-lived client (the sync runs one coupon at a time)."""

    def ready(self) -> bool:
        return credentials.effective().rest

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            api = credentials.client(**QUICK)
        except WooError as exc:
            raise IssuerError(str(exc)) from None
        try:
            return api.json(method, path, **kwargs)
        except WooNotFound:
            raise
        except WooError as exc:
            raise IssuerError(str(exc)) from None
        finally:
            api.close()

    def find(self, code: str) -> str | None:
        try:
            found = self._call("GET", "/coupons", params={"code": code})
        except WooNotFound as exc:
            raise IssuerError(str(exc)) from None
        if not isinstance(found, list):
            raise IssuerError("the shop's answer to GET /coupons is not a list")
        for coupon in found:
            if isinstance(coupon, dict) and str(coupon.get("code", "")).lower() == code.lower():
                return str(coupon["id"])
        return None

    def create(self, coupon: Coupon) -> str:
        try:
            created = self._call("POST", "/coupons", json=body(coupon))
        except WooNotFound as exc:
            raise IssuerError(str(exc)) from None
        if not isinstance(created, dict) or created.get("id") in (None, ""):
            raise IssuerError("the shop's answer to POST /coupons has no coupon id")
        return str(created["id"])

    def remove(self, shop_coupon_id: str) -> None:
        try:
            self._call("DELETE", f"/coupons/{shop_coupon_id}", params={"force": "true"})
        except WooNotFound:
            return  # gone already
