"""WooCommerce REST v3 order JSON → the portal's OrderData (checked against what a real
WooCommerce 10.0.2 shop sends: ``shared/woocommerce-10.0.2``).

Money fields are decimal strings; line ``total`` is after discounts and without tax;
statuses carry no ``wc-`` prefix; ``*_gmt`` times are UTC without a zone, in whole
seconds. Order meta may repeat a key: the highest meta ``id`` wins.

Refunds: the order's ``refunds[]`` holds only each refund's gross total (goods, tax and
shipping together); the split is in ``GET /orders/<id>/refunds`` (:class:`RefundSplit`,
read by the bridge). A refund with lines takes back exactly the goods on its lines; an
amount-only refund takes back ``amount × goods / order total`` (the order's own
proportion), never the whole amount as goods.

Anything that is not an order we can store — wrong types, ids longer than the columns,
amounts out of range, NUL bytes — is a :class:`MappingError` with a readable reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.links import services as links
from portal.money import round_money
from portal.orders.models import STATUSES
from portal.orders.services import CouponUse, LineData, OrderData, Referral, RefundNote

ATTRIBUTION_PREFIX = "_wc_order_attribution_"
PICKUP_METHOD = "portal_pickup"  # the companion plugin's shipping method
# Draft orders of the block checkout and the admin: not orders (never shown, never paid).
NOT_ORDERS = frozenset({"checkout-draft", "draft", "auto-draft"})
MAX_ID = 64  # the id columns' length
MAX_AMOUNT = Decimal("1e13")  # Numeric(18, 4): 14 digits before the point


class MappingError(ValueError):
    """The payload is not an order we can store; the message says why."""


class NotAnOrder(Exception):  # an outcome, not a failure
    """A draft (or a status the merchant marked as not an order): nothing to store."""


@dataclass(frozen=True)
class Statuses:
    """The merchant's custom statuses (Admin → Settings): ``paid`` ones are stored as
    ``processing``, ``ignored`` ones are not orders. Any other unknown status is a mapping
    error until the merchant says which it is (then the delivery is replayed)."""

    paid: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()

    def canonical(self, status: str) -> str:
        if status in STATUSES:
            return status
        if status in NOT_ORDERS or status in self.ignored:
            raise NotAnOrder(status)
        if status in self.paid:
            return "processing"
        raise MappingError(
            f"unknown order status {status!r}: say under Admin → Settings whether it counts "
            "as paid or is not an order, then replay the delivery"
        )


@dataclass(frozen=True)
class RefundSplit:
    """What one refund took back, as ``GET /orders/<id>/refunds`` tells it."""

    amount: Decimal
    has_lines: bool
    goods: Mapping[str, Decimal] = field(default_factory=dict)  # order line id -> goods


def _text(value: Any, what: str, limit: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MappingError(f"{what} is not text or a number: {type(value).__name__}")
    text = str(value)
    if len(text) > limit:
        raise MappingError(f"{what} is longer than {limit} characters")
    if not text.isprintable():
        raise MappingError(f"{what} holds unprintable characters")
    return text


def _id(value: Any, what: str) -> str:
    text = _text(value, what, MAX_ID).strip()
    if not text:
        raise MappingError(f"{what} is empty")
    return text


def _optional_id(value: Any, what: str) -> str | None:
    return None if value in (None, 0, "0", "") else _id(value, what)


def _label(value: Any) -> str:
    """Display-only text (a line's name): unprintable characters dropped, cut to fit."""
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text if ch.isprintable())[:255]


def _money(value: Any, what: str) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MappingError(f"{what} is not an amount: {type(value).__name__}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError(f"{what} is not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise MappingError(f"{what} is out of range: {str(value)[:40]!r}")
    return amount


def _time(value: Any, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(_text(value, what, 40))
    except ValueError:
        raise MappingError(f"{what} is not a date: {str(value)[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{key} is not an object")
    return value


def _list(payload: Mapping[str, Any], key: str) -> list[Any]:
    value = payload.get(key)
    if value in (None, "", {}):
        return []
    if not isinstance(value, list):
        raise MappingError(f"{key} is not a list")
    return value


def meta(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Order meta by key; when a key repeats, the entry with the highest id wins."""
    chosen: dict[str, tuple[int, Any]] = {}
    for item in _list(payload, "meta_data"):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            continue
        raw = item.get("id") or 0
        try:
            meta_id = int(raw)
        except (TypeError, ValueError):
            raise MappingError(f"meta id is not a number: {str(raw)[:40]!r}") from None
        if item["key"] not in chosen or meta_id >= chosen[item["key"]][0]:
            chosen[item["key"]] = (meta_id, item.get("value"))
    return {key: value for key, (_id, value) in chosen.items()}


def referral(payload: Mapping[str, Any]) -> Referral:
    """What the order says about who referred it: the coupons used, the ``_portal_ref``
    meta the companion plugin writes, WooCommerce's own order-attribution utm values."""
    values = meta(payload)
    utm = {
        key[len(ATTRIBUTION_PREFIX) :]: _text(value, key, 255)
        for key, value in values.items()
        if key.startswith(ATTRIBUTION_PREFIX) and value not in (None, "")
    }
    coupons = tuple(
        _text(line["code"], "coupon code", 64).strip()
        for line in _list(payload, "coupon_lines")
        if isinstance(line, dict) and line.get("code")
    )
    ref = values.get("_portal_ref")
    # The link's sub-id: the companion plugin's ``_portal_sub``, else the ``utm_content``
    # the link put on the landing page (WooCommerce's order attribution recorded it).
    sub = values.get("_portal_sub")
    if not sub and utm.get("utm_source") == "portal":
        sub = utm.get("utm_content")
    pickup_code, pickup_point, pickup_buyer = _pickup(payload, values)
    return Referral(
        coupons=coupons,
        portal_ref=_text(ref, "_portal_ref", 64).strip() if ref else None,
        utm=utm,
        sub_id=links.clean_sub(_text(sub, "_portal_sub", 255)) if sub else None,
        referrer_host=links.referrer_host(utm.get("referrer")),
        pickup_code=pickup_code,
        pickup_point=pickup_point,
        pickup_buyer=pickup_buyer,
        renewal_of=_renewal_of(values),
    )


def _renewal_of(values: Mapping[str, Any]) -> str | None:
    """The original order of a WooCommerce Subscriptions renewal: Subscriptions marks a
    renewal with ``_subscription_renewal`` (the subscription's id) and the companion plugin
    adds ``_portal_renewal_of``, the subscription's parent order."""
    if not values.get("_subscription_renewal") or not values.get("_portal_renewal_of"):
        return None
    return _id(values["_portal_renewal_of"], "_portal_renewal_of")


def _pickup(
    payload: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[str | None, int | None, str | None]:
    """The companion plugin's pickup meta (the leader's code and point, written when the
    buyer chose the leader's point at checkout), and the buyer as the pick list shows
    them: first name and the initial of the last — nothing more is kept."""
    code, point = values.get("_portal_pickup_code"), values.get("_portal_pickup_point")
    if not code or not point:  # the plugin's shipping line carries them too
        for line in _list(payload, "shipping_lines"):
            if isinstance(line, dict) and line.get("method_id") == PICKUP_METHOD:
                line_meta = {
                    m.get("key"): m.get("value")
                    for m in _list(line, "meta_data")
                    if isinstance(m, dict)
                }
                code, point = line_meta.get("pickup_code"), line_meta.get("pickup_point")
    if not code or not point:
        return None, None, None
    try:
        point_id = int(_text(point, "_portal_pickup_point", 20))
    except ValueError:
        raise MappingError(f"_portal_pickup_point is not a number: {str(point)[:20]!r}") from None
    billing = _object(payload, "billing")
    first = _text(billing.get("first_name") or "", "billing first name", 255).strip()
    last = _text(billing.get("last_name") or "", "billing last name", 255).strip()
    buyer = f"{first} {last[:1]}." if last else first
    return _text(code, "_portal_pickup_code", 64).strip(), point_id, buyer[:40] or None


def coupon_uses(payload: Mapping[str, Any]) -> tuple[CouponUse, ...]:
    """What each coupon took off the order (``coupon_lines``: ``code`` in lower case,
    ``discount`` without tax and ``discount_tax`` as decimal strings, e.g. ``"3.9"``). A
    fixed-cart coupon's amount counts the way the shop enters prices: without tax
    (``prices_include_tax`` false: the discount alone), or with it (discount + its tax)."""
    with_tax = payload.get("prices_include_tax") is True
    uses = []
    for line in _list(payload, "coupon_lines"):
        if not isinstance(line, dict) or not line.get("code"):
            continue
        code = _text(line["code"], "coupon code", 64).strip().lower()
        amount = _money(line.get("discount"), f"coupon {code} discount")
        if with_tax:
            amount += _money(line.get("discount_tax"), f"coupon {code} discount_tax")
        uses.append(CouponUse(code, amount))
    return tuple(uses)


def refund_split(refund: Mapping[str, Any]) -> RefundSplit:
    """One entry of ``GET /orders/<id>/refunds``: goods per order line (``line_items``
    totals are negative and without tax; ``_refunded_item_id`` names the order's line)."""
    goods: dict[str, Decimal] = {}
    for item in _list(refund, "line_items"):
        if not isinstance(item, dict):
            raise MappingError("a refund line is not an object")
        refunded = next(
            (
                m.get("value")
                for m in _list(item, "meta_data")
                if isinstance(m, dict) and m.get("key") == "_refunded_item_id"
            ),
            None,
        )
        line_id = _id(refunded, "refund line's _refunded_item_id")
        amount = -_money(item.get("total"), f"refund line {line_id} total")
        goods[line_id] = goods.get(line_id, Decimal(0)) + amount
    has_lines = bool(goods or _list(refund, "shipping_lines") or _list(refund, "fee_lines"))
    return RefundSplit(_money(refund.get("amount"), "refund amount"), has_lines, goods)


def refund_ids(payload: Mapping[str, Any]) -> list[str]:
    """The ids of the refunds an order payload lists."""
    return [_id(r.get("id"), "refund id") for r in _list(payload, "refunds") if isinstance(r, dict)]


def _refunds(
    payload: Mapping[str, Any],
    lines: list[LineData],
    splits: Mapping[str, RefundSplit],
    currency: str,
) -> tuple[list[LineData], Decimal, tuple[RefundNote, ...]]:
    """The lines with their refunded goods, the goods refunded without a line, and how
    each refund counted."""
    goods = sum((line.total for line in lines), Decimal(0))
    order_total = _money(payload.get("total"), "order total")
    by_line: dict[str, Decimal] = {}
    unallocated = Decimal(0)
    notes = []
    for item in _list(payload, "refunds"):
        if not isinstance(item, dict):
            raise MappingError("a refund is not an object")
        refund_id = _id(item.get("id"), "refund id")
        split = splits.get(refund_id)
        amount = abs(_money(item.get("total"), f"refund {refund_id} total"))
        if split is not None and split.has_lines:
            share = sum(split.goods.values(), Decimal(0))
            for line_id, taken in split.goods.items():
                by_line[line_id] = by_line.get(line_id, Decimal(0)) + taken
            rule = "lines"
        else:
            # An order without a total (never from a real shop): the amount, at most goods.
            share = amount * goods / order_total if order_total > 0 else amount
            share = round_money(min(goods, share), currency)
            unallocated += share
            rule = "proportional" if split is not None else "estimated"
        notes.append(RefundNote(refund_id, amount, share, rule))
    refunded_lines = [
        replace(
            line,
            refunded_total=min(
                max(by_line.pop(line.shop_line_id, Decimal(0)), Decimal(0)), line.total
            ),
        )
        for line in lines
    ]
    if by_line:  # refunded lines the order no longer lists: count them without a line
        unallocated += sum(by_line.values(), Decimal(0))
    left = sum((line.total - line.refunded_total for line in refunded_lines), Decimal(0))
    if order_total > 0 and sum((n.amount for n in notes), Decimal(0)) >= order_total:
        unallocated = left  # refunded in full: every line's goods, whatever the split
    return refunded_lines, min(max(unallocated, Decimal(0)), left), tuple(notes)


def shop_order_id(payload: Any) -> str:
    if not isinstance(payload, dict) or "id" not in payload:
        raise MappingError("not an order: no id")
    return _id(payload["id"], "order id")


def modified_at(payload: Any) -> datetime | None:
    """The order's modification time at the shop (its creation time when it has none)."""
    if not isinstance(payload, dict):
        raise MappingError("not an order")
    return _time(payload.get("date_modified_gmt"), "date_modified_gmt") or _time(
        payload.get("date_created_gmt"), "date_created_gmt"
    )


def order_data(
    payload: Any,
    splits: Mapping[str, RefundSplit] | None = None,
    statuses: Statuses | None = None,
) -> OrderData:
    """Map one order. Raises :class:`MappingError` for anything that is not an order we
    can store and :class:`NotAnOrder` for a draft. ``splits``: the refunds read over
    REST, by refund id (a refund missing there counts as ``estimated``)."""
    order_id = shop_order_id(payload)
    raw_status = _text(payload.get("status") or "pending", "status", 64).removeprefix("wc-")
    status = (statuses or Statuses()).canonical(raw_status)
    created = _time(payload.get("date_created_gmt"), "date_created_gmt")
    modified = _time(payload.get("date_modified_gmt"), "date_modified_gmt") or created
    if created is None or modified is None:
        raise MappingError("order has no date_created_gmt")
    lines = []
    for item in _list(payload, "line_items"):
        if not isinstance(item, dict):
            raise MappingError("line_items holds something that is not a line")
        line_id = _id(item.get("id"), "line id")
        quantity = item.get("quantity") or 0
        if isinstance(quantity, bool) or not isinstance(quantity, int | str):
            raise MappingError(f"line {line_id}: quantity {str(quantity)[:20]!r}")
        try:
            qty = int(quantity)
        except ValueError:
            raise MappingError(f"line {line_id}: quantity {str(quantity)[:20]!r}") from None
        if not 0 <= qty < 10**9:
            raise MappingError(f"line {line_id}: quantity {qty} is out of range")
        lines.append(
            LineData(
                shop_line_id=line_id,
                product_id=_id(item.get("product_id"), f"line {line_id} product_id"),
                variation_id=_optional_id(item.get("variation_id"), f"line {line_id} variation"),
                qty=qty,
                total=_money(item.get("total"), f"line {line_id} total"),
                name=_label(item.get("name")),
            )
        )
    currency = _text(payload.get("currency") or "USD", "currency", 3).upper()
    lines, unallocated, notes = _refunds(payload, lines, splits or {}, currency)
    billing = _object(payload, "billing")
    email = billing.get("email")
    email = _text(email, "billing email", 254).strip().lower() if email else None
    return OrderData(
        shop_order_id=order_id,
        number=_text(payload.get("number") or order_id, "number", MAX_ID),
        status=status,
        currency=currency,
        created_at=created,
        modified_at=modified,
        completed_at=_time(payload.get("date_completed_gmt"), "date_completed_gmt"),
        customer_id=_optional_id(payload.get("customer_id"), "customer_id"),
        customer_email=email or None,
        # REST v3 order fields; the portal keeps only keyed hashes of them (risk rules).
        customer_ip=_text(payload.get("customer_ip_address") or "", "customer ip", 64).strip()
        or None,
        customer_user_agent=_label(payload.get("customer_user_agent")).strip() or None,
        lines=tuple(lines),
        refunded_unallocated=unallocated,
        refunds=notes,
        referral=referral(payload),
        coupon_uses=coupon_uses(payload),
    )
