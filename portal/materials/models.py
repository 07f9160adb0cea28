"""Material items and the products they belong to."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.catalogue.models import Product
from portal.columns import str_enum
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class MaterialKind(enum.StrEnum):
    IMAGE = "image"
    COPY = "copy"  # a caption or post text
    TUTORIAL = "tutorial"  # Markdown
    SCRIPT = "script"  # what to say in a group chat (话术)


material_products = Table(
    "material_products",
    db.metadata,
    Column("material_id", ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_material_products_material_id", "material_id"),
    Index("ix_material_products_product_id", "product_id"),
)


class Material(db.Model):
    """One item. ``body`` is the text (with placeholders) of every kind; for an image it
    is the caption. Visible to distributors between ``publish_from`` and
    ``publish_until`` (either open-ended); never visible while ``publish_from`` is NULL
    (a draft). Counts are bumped with atomic UPDATEs."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MaterialKind] = mapped_column(str_enum(MaterialKind), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="", index=True)
    tags: Mapped[str] = mapped_column(String(255), default="")  # comma-separated
    image_file: Mapped[str | None] = mapped_column(String(80))  # name under the upload path
    image_type: Mapped[str | None] = mapped_column(String(32))  # its MIME type
    pinned: Mapped[bool] = mapped_column(default=False)
    publish_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    copy_count: Mapped[int] = mapped_column(default=0)
    download_count: Mapped[int] = mapped_column(default=0)
    # Set once the "new material" notifications went out.
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    products: Mapped[list[Product]] = relationship(secondary=material_products)

    def tag_list(self) -> list[str]:
        return [tag for tag in (t.strip() for t in self.tags.split(",")) if tag]
