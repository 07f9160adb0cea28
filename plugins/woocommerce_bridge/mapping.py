"""WooCommerce REST v3 order JSON → the portal's OrderData.

Money fields are decimal strings; line ``total`` is after discounts and without tax;
``refunds[].total`` is negative; statuses carry no ``wc-`` prefix; ``*_gmt`` times are UTC
without a zone. Order meta may repeat a key: the highest meta ``id`` wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.orders.services import LineData, OrderData

ATTRIBUTION_PREFIX = "_wc_order_attribution_"


class MappingError(ValueError):
    """The payload is not an order we can store; the message says why."""


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise MappingError(f"{what} is not an amount: {value!r}") from None
    if not amount.is_finite():
        raise MappingError(f"{what} is not an amount: {value!r}")
    return amount


def _time(value: Any, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise MappingError(f"{what} is not a date: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def meta(payload: dict[str, Any]) -> dict[str, Any]:
    """Order meta by key; when a key repeats, the entry with the highest id wins."""
    chosen: dict[str, tuple[int, Any]] = {}
    for item in payload.get("meta_data") or []:
        if not isinstance(item, dict) or "key" not in item:
            continue
        meta_id = int(item.get("id") or 0)
        if item["key"] not in chosen or meta_id >= chosen[item["key"]][0]:
            chosen[item["key"]] = (meta_id, item.get("value"))
    return {key: value for key, (_id, value) in chosen.items()}


@dataclass(frozen=True)
class Evidence:
    """What the order says about who referred it (attribution resolves it)."""

    coupons: tuple[str, ...]
    portal_ref: str | None
    utm: dict[str, str]
    customer_id: str | None
    customer_email: str | None


def evidence(payload: dict[str, Any]) -> Evidence:
    values = meta(payload)
    utm = {
        key[len(ATTRIBUTION_PREFIX) :]: str(value)
        for key, value in values.items()
        if key.startswith(ATTRIBUTION_PREFIX) and value not in (None, "")
    }
    coupons = tuple(
        str(line.get("code", "")).strip()
        for line in payload.get("coupon_lines") or []
        if isinstance(line, dict) and line.get("code")
    )
    ref = values.get("_portal_ref")
    customer = payload.get("customer_id")
    billing = payload.get("billing") or {}
    return Evidence(
        coupons=coupons,
        portal_ref=str(ref).strip() if ref else None,
        utm=utm,
        customer_id=str(customer) if customer not in (None, 0, "0", "") else None,
        customer_email=(billing.get("email") or "").strip().lower() or None,
    )


def order_data(payload: dict[str, Any]) -> OrderData:
    """Map one order; raises :class:`MappingError` for anything that is not an order."""
    if not isinstance(payload, dict) or "id" not in payload:
        raise MappingError("not an order: no id")
    created = _time(payload.get("date_created_gmt"), "date_created_gmt")
    modified = _time(payload.get("date_modified_gmt"), "date_modified_gmt") or created
    if created is None or modified is None:
        raise MappingError("order has no date_created_gmt")
    lines = []
    for item in payload.get("line_items") or []:
        if not isinstance(item, dict):
            raise MappingError("line_items holds something that is not a line")
        try:
            qty = int(item.get("quantity") or 0)
        except (TypeError, ValueError):
            raise MappingError(
                f"line {item.get('id')}: quantity {item.get('quantity')!r}"
            ) from None
        variation = item.get("variation_id")
        lines.append(
            LineData(
                shop_line_id=str(item.get("id")),
                product_id=str(item.get("product_id")),
                variation_id=str(variation) if variation not in (None, 0, "0") else None,
                qty=qty,
                total=_money(item.get("total"), f"line {item.get('id')} total"),
                name=str(item.get("name") or ""),
            )
        )
    goods = sum((line.total for line in lines), Decimal(0))
    refunded = -sum(
        (_money(r.get("total"), "refund total") for r in payload.get("refunds") or []),
        Decimal(0),
    )
    found = evidence(payload)
    status = str(payload.get("status") or "pending").removeprefix("wc-")
    return OrderData(
        shop_order_id=str(payload["id"]),
        number=str(payload.get("number") or payload["id"]),
        status=status,
        currency=str(payload.get("currency") or "").upper() or "USD",
        created_at=created,
        modified_at=modified,
        completed_at=_time(payload.get("date_completed_gmt"), "date_completed_gmt"),
        customer_id=found.customer_id,
        customer_email=found.customer_email,
        # REST v3 order fields; the portal keeps only keyed hashes of them (risk rules).
        customer_ip=str(payload.get("customer_ip_address") or "").strip() or None,
        customer_user_agent=str(payload.get("customer_user_agent") or "").strip() or None,
        lines=tuple(lines),
        # Refund totals can include shipping and tax; commission only ever loses goods.
        refunded_unallocated=min(max(refunded, Decimal(0)), goods),
    )
