"""What an order needs from the shop before its commissions are computed, read over REST
once and kept: the split of its refunds (goods, tax, shipping) and — when a commission
rule looks at categories — the catalogue entries of products newer than the last
catalogue sync.

Without REST keys nothing can be read: refunds then count as ``estimated`` (the order's
own proportion) and unknown products have no categories — both logged, never silent.
A shop that cannot be reached raises ``WooError``: the delivery fails and is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from plugins.woocommerce_bridge import credentials, mapping
from plugins.woocommerce_bridge.client import WooClient, WooError, WooNotFound
from plugins.woocommerce_bridge.models import WooRefund
from portal import bulk
from portal.catalogue.models import Product
from portal.commissions.models import PlanOverride
from portal.extensions import db
from portal.timeutil import utcnow

log = logging.getLogger(__name__)
PER_REQUEST = 100  # ids per ``include=`` request (the REST API's page size)


class Shop:
    """A REST client made on first use (most batches need none) and closed by the caller.
    Lookups during a drain must not hold it up: few retries, and once the shop could not
    be reached every later lookup of the run fails at once with the same reason."""

    def __init__(self) -> None:
        self._api: WooClient | None = None
        self._down: WooError | None = None

    @staticmethod
    def configured() -> bool:
        return credentials.effective().rest

    def get(self, path: str, **params: Any) -> Any:
        if self._down is not None:
            raise self._down
        try:
            if self._api is None:
                self._api = credentials.client(timeout=10, retries=1, backoff=0.2)
            return self._api.request("GET", path, params=params).json()
        except WooNotFound:
            raise
        except WooError as exc:
            self._down = exc
            raise

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


def _split(row: WooRefund) -> mapping.RefundSplit:
    goods = {line: Decimal(amount) for line, amount in row.goods.items()}
    return mapping.RefundSplit(Decimal(row.amount), row.has_lines, goods)


def refund_splits(payloads: Sequence[Any], shop: Shop) -> dict[str, mapping.RefundSplit]:
    """The splits of every refund the payloads list: kept ones from the table, the others
    read over REST — ``GET /refunds?include=…`` (WooCommerce 9.0 and later: one request per
    100 refunds), else ``GET /orders/<id>/refunds`` per order — and kept."""
    wanted: dict[str, str] = {}  # refund id -> shop order id
    for payload in payloads:
        if not isinstance(payload, dict) or not payload.get("refunds"):
            continue
        try:
            order_id = mapping.shop_order_id(payload)
            wanted.update(dict.fromkeys(mapping.refund_ids(payload), order_id))
        except mapping.MappingError:
            continue  # the order's own mapping says why
    if not wanted:
        return {}
    splits = {
        row.refund_id: _split(row)
        for row in db.session.scalars(select(WooRefund).where(WooRefund.refund_id.in_(wanted)))
    }
    missing = {refund: order for refund, order in wanted.items() if refund not in splits}
    if missing and not shop.configured():
        log.warning(
            "refunds of orders %s counted as estimated: no REST keys", sorted(set(missing.values()))
        )
        return splits
    read, now = [], utcnow()
    for order_id, refund in _read_refunds(missing, shop):
        refund_id = mapping.refund_ids({"refunds": [refund]})[0]
        split = mapping.refund_split(refund)
        if refund_id not in splits:
            read.append(
                {
                    "refund_id": refund_id,
                    "shop_order_id": order_id,
                    "amount": str(split.amount),
                    "has_lines": split.has_lines,
                    "goods": {line: str(amount) for line, amount in split.goods.items()},
                    "read_at": now,
                }
            )
        splits[refund_id] = split
    # Kept in one statement (a drain that read the same refund meanwhile makes this batch
    # fail on the key: its orders are then taken one by one, and find the refund kept).
    bulk.insert_rows(WooRefund.__table__, read)
    return splits


def _read_refunds(missing: Mapping[str, str], shop: Shop) -> Iterable[tuple[str, Any]]:
    """(shop order id, refund JSON) for the refunds asked for."""
    ids = sorted(missing)
    try:
        for start in range(0, len(ids), PER_REQUEST):
            chunk = ids[start : start + PER_REQUEST]
            answer = shop.get("/refunds", include=",".join(chunk), per_page=PER_REQUEST)
            for refund in _records(answer):
                yield str(refund.get("parent_id") or missing.get(str(refund.get("id")))), refund
        return
    except WooNotFound:  # WooCommerce before 9.0 has no /refunds
        pass
    for order_id in sorted(set(missing.values())):
        for refund in _records(shop.get(f"/orders/{order_id}/refunds")):
            yield order_id, refund


def _records(body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise mapping.MappingError("the shop's refund list is not a list of refunds")
    return body


def update_product(product: Product, item: Mapping[str, Any]) -> None:
    """A catalogue entry from the shop's product JSON."""
    product.name = str(item.get("name") or "")[:255]
    product.price = str(item.get("price") or "")[:32] or None
    product.permalink = item.get("permalink")
    images = item.get("images") or []
    product.image_url = images[0].get("src") if images and isinstance(images[0], dict) else None
    product.category_ids = [str(c.get("id")) for c in item.get("categories") or []]


def _categories_matter() -> bool:
    """Whether any commission rule looks at categories (only then is a product's category
    needed before its order is computed)."""
    rule = select(PlanOverride.id).where(PlanOverride.scope == "category").limit(1)
    return db.session.scalar(rule) is not None


def fetch_products(product_ids: Iterable[str], shop: Shop) -> None:
    """Read products the catalogue does not know yet (``GET /products?include=…``), so an
    order's category rules see their categories; products the shop no longer has are
    kept with no categories, so they are asked for once."""
    wanted = set(product_ids)
    if not wanted or not _categories_matter():
        return
    known = set(
        db.session.scalars(select(Product.product_id).where(Product.product_id.in_(wanted)))
    )
    unknown = sorted(wanted - known)
    if not unknown:
        return
    if not shop.configured():
        log.warning("products %s have no categories: not in the catalogue, no REST keys", unknown)
        return
    found: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(unknown), PER_REQUEST):
        chunk = unknown[start : start + PER_REQUEST]
        params = {"include": ",".join(chunk), "per_page": PER_REQUEST, "status": "any"}
        found.update(
            {str(item.get("id")): item for item in _records(shop.get("/products", **params))}
        )
    for product_id in unknown:
        product = Product(product_id=product_id)
        if product_id in found:
            update_product(product, found[product_id])
        else:
            log.warning("product %s is not in the shop: no categories", product_id)
            product.name = ""
            product.category_ids = []
        db.session.add(product)
    db.session.flush()
