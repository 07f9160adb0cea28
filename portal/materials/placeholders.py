"""Filling a material's placeholders for one distributor.

``{link}``, ``{code}``, ``{name}``, ``{coupon}`` and ``{product_link:<shop product id>}``
become the distributor's own values. Anything else in braces — a typo, a placeholder of a
later version, a product no longer in the catalogue, a coupon not created yet — stays as
written, so the gap is visible where it is read and the text never breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portal.distributors import coupons as personal_coupons
from portal.distributors.models import Distributor
from portal.links import services as links

PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}\s]+))?\}")


@dataclass
class Filler:
    """The values of one distributor; built once per page, used for every item."""

    distributor: Distributor
    _coupon: str | None = None
    _coupon_loaded: bool = False
    _products: dict[str, str | None] = field(default_factory=dict)

    def coupon(self) -> str | None:
        if not self._coupon_loaded:
            coupons = personal_coupons.of(self.distributor.id)
            self._coupon = coupons[0].code if coupons else None
            self._coupon_loaded = True
        return self._coupon

    def product_link(self, product_id: str) -> str | None:
        if product_id not in self._products:
            known = links.product(product_id) is not None
            self._products[product_id] = (
                links.short_url(links.link_code(self.distributor), product_id) if known else None
            )
        return self._products[product_id]

    def value(self, name: str, argument: str | None) -> str | None:
        if argument is not None:
            return self.product_link(argument) if name == "product_link" else None
        if name == "link":
            return links.short_url(links.link_code(self.distributor))
        if name == "code":
            return self.distributor.code
        if name == "name":
            return self.distributor.display_name
        if name == "coupon":
            return self.coupon()
        return None

    def fill(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.value(match.group(1), match.group(2))
            return match.group(0) if value is None else value

        return PLACEHOLDER.sub(replace, text)
