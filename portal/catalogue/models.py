"""Products: categories for commission overrides, names, prices, links and images for
sharing. A shop plugin keeps them in sync; the core only reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    price: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    category_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# The Share page lists the catalogue by name, twenty a page: read from the index, not a
# sort of every product.
Index("ix_products_name_id", Product.name, Product.id)
