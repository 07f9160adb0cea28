"""Material rules: visibility, search, editing, counting, rendering for a distributor."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from PIL import Image
from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import selectinload

from portal import uploads
from portal.accounts.models import User
from portal.audit import services as audit
from portal.catalogue.models import Product
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.forms import like_escape
from portal.links import qr
from portal.materials.models import Material, MaterialKind, material_products
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from portal.timeutil import utcnow

NEW_DAYS = 7


def published() -> object:
    """SQL condition: visible to distributors now."""
    now = utcnow()
    return and_(
        Material.publish_from.is_not(None),
        Material.publish_from <= now,
        or_(Material.publish_until.is_(None), Material.publish_until > now),
    )


@dataclass(frozen=True)
class Filter:
    search: str = ""
    kind: MaterialKind | None = None
    category: str = ""
    product_id: int | None = None
    new: bool = False


def library_query(f: Filter) -> Select[tuple[Material]]:
    """Published items for distributors: pinned first, newest first."""
    query = select(Material).where(published()).options(selectinload(Material.products))
    if f.search.strip():
        pattern = f"%{like_escape(f.search.strip())}%"
        query = query.where(
            or_(
                Material.title.ilike(pattern, escape="\\"),
                Material.body.ilike(pattern, escape="\\"),
                Material.tags.ilike(pattern, escape="\\"),
            )
        )
    if f.kind is not None:
        query = query.where(Material.kind == f.kind)
    if f.category:
        query = query.where(Material.category == f.category)
    if f.product_id is not None:
        query = query.where(
            Material.id.in_(
                select(material_products.c.material_id).where(
                    material_products.c.product_id == f.product_id
                )
            )
        )
    if f.new:
        query = query.where(Material.publish_from >= utcnow() - timedelta(days=NEW_DAYS))
    return query.order_by(Material.pinned.desc(), Material.publish_from.desc(), Material.id.desc())


def categories() -> list[str]:
    return list(
        db.session.scalars(
            select(Material.category).where(published(), Material.category != "").distinct()
        )
    )


def products_with_materials() -> list[Product]:
    return list(
        db.session.scalars(
            select(Product)
            .where(
                Product.id.in_(
                    select(material_products.c.product_id)
                    .join(Material, Material.id == material_products.c.material_id)
                    .where(published())
                )
            )
            .order_by(Product.name)
        )
    )


def visible(material_id: int) -> Material | None:
    """A published material (drafts and expired ones do not exist for distributors)."""
    return db.session.scalar(select(Material).where(Material.id == material_id, published()))


def admin_query() -> Select[tuple[Material]]:
    return select(Material).order_by(Material.pinned.desc(), Material.id.desc())


@dataclass
class MaterialData:
    kind: MaterialKind
    title: str
    body: str
    category: str
    tags: str
    product_ids: list[str]  # the shop's product ids
    publish_from: datetime | None
    publish_until: datetime | None
    pinned: bool


def _products(shop_ids: list[str]) -> list[Product]:
    if not shop_ids:
        return []
    return list(db.session.scalars(select(Product).where(Product.product_id.in_(shop_ids))))


def save(
    material: Material | None, data: MaterialData, image: IO[bytes] | None, actor: User
) -> Material:
    """Create (``material`` None) or update an item; an image upload replaces the old one.
    Raises :class:`uploads.UploadError` before anything changes. Commits."""
    stored = uploads.store(image) if image is not None else None
    creating = material is None
    if material is None:
        material = Material(created_by_id=actor.id)
        db.session.add(material)
    material.kind = data.kind
    material.title = data.title.strip()
    material.body = data.body
    material.category = data.category.strip()
    material.tags = ",".join(t.strip() for t in data.tags.split(",") if t.strip())
    material.products = _products(data.product_ids)
    material.publish_from = data.publish_from
    material.publish_until = data.publish_until
    material.pinned = data.pinned
    if stored is not None:
        material.image_file, material.image_type = stored
    db.session.flush()
    audit.record(
        actor,
        "material.create" if creating else "material.update",
        "material",
        material.id,
        after={"title": material.title, "kind": material.kind.value},
    )
    db.session.commit()
    return material


def count(material_id: int, what: str) -> None:
    """One more copy or download of a published item (an atomic increment). Commits."""
    column = Material.copy_count if what == "copy" else Material.download_count
    db.session.execute(
        update(Material)
        .where(Material.id == material_id)
        .values({column: column + 1})
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def stamped(material: Material, url: str) -> bytes:
    """The image as PNG with the QR code of ``url`` in its bottom-right corner, about a
    fifth of the shorter side, on a white margin so it scans on any picture."""
    with Image.open(uploads.path(material.image_file or "")) as source:
        image = source.convert("RGB")
    side = max(96, min(image.size) // 5)
    with Image.open(io.BytesIO(qr.png(url, max_width=side))) as code:
        code_image = code.convert("RGB")
    margin = max(8, side // 12)
    x = image.width - code_image.width - margin
    y = image.height - code_image.height - margin
    image.paste(code_image, (max(0, x), max(0, y)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def announce_new_materials() -> int:
    """Periodic: a "new material" notification to every active distributor for items
    whose publish window has opened, once per item: the item is claimed (``announced_at``
    set where still NULL) in the same transaction as its notifications. Returns the items
    announced."""
    ids = list(
        db.session.scalars(
            select(Material.id).where(published(), Material.announced_at.is_(None)).limit(20)
        )
    )
    announced = 0
    for material_id in ids:
        claimed = db.session.execute(
            update(Material)
            .where(Material.id == material_id, Material.announced_at.is_(None))
            .values(announced_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        title = db.session.scalar(select(Material.title).where(Material.id == material_id))
        active = select(Distributor.id).where(Distributor.status == DistributorStatus.ACTIVE)
        for distributor_id in list(db.session.scalars(active)):
            notify(
                distributor_id,
                NotificationKind.NEW_MATERIAL,
                {"title": title, "material_id": material_id},
            )
        db.session.commit()
        announced += 1
    return announced
