"""Demo materials: posters drawn with Pillow (no network, same pixels every run), copy
text, a tutorial and a chat script, some tied to the demo catalogue's products."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select

from portal import uploads
from portal.accounts.models import User
from portal.catalogue.models import Product
from portal.extensions import db
from portal.materials.models import Material, MaterialKind
from portal.timeutil import utcnow

_POSTERS = [
    ("Autumn tea poster", "Tea", (194, 65, 12), "Autumn picks for you — {link}"),
    ("Gift box banner", "Gifts", (22, 101, 52), "Gift boxes, ready to send. Use {coupon}!"),
]

_TEXTS = [
    (
        MaterialKind.SCRIPT,
        "Group chat opener",
        "Scripts",
        "Hi everyone, {name} here 👋 This week's favourite: {product_link:101}. "
        "Order through {link} and tell me if you have questions!",
        True,
    ),
    (
        MaterialKind.COPY,
        "Moments caption",
        "Captions",
        "Fresh from the garden 🍃 My code {code} — {link}",
        False,
    ),
    (
        MaterialKind.TUTORIAL,
        "How to share in three steps",
        "Guides",
        "## 1. Copy\n\nTap **Copy** under a script.\n\n## 2. Paste\n\n"
        "Paste it in your group.\n\n## 3. Follow up\n\nAnswer questions; your link "
        "`{link}` keeps the order yours.",
        False,
    ),
]


def _poster(colour: tuple[int, int, int], title: str) -> io.BytesIO:
    image = Image.new("RGB", (1080, 1350), (255, 251, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1080, 420), fill=colour)
    for i in range(6):
        draw.ellipse((120 + i * 150, 620, 220 + i * 150, 720), fill=colour)
    draw.text((60, 460), title, fill=(29, 35, 48), font_size=64)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def seed_materials(admin: User) -> None:
    """Add the demo items, published a few days ago and already announced."""
    now = utcnow()
    products = list(db.session.scalars(select(Product).order_by(Product.id).limit(2)))
    for i, (title, category, colour, caption) in enumerate(_POSTERS):
        name, mime = uploads.store(_poster(colour, title))
        db.session.add(
            Material(
                kind=MaterialKind.IMAGE,
                title=title,
                body=caption,
                category=category,
                tags="poster",
                image_file=name,
                image_type=mime,
                products=products[i : i + 1],
                publish_from=now - timedelta(days=2 + i),
                announced_at=now,
                created_by_id=admin.id,
            )
        )
    for i, (kind, title, category, body, pinned) in enumerate(_TEXTS):
        db.session.add(
            Material(
                kind=kind,
                title=title,
                body=body,
                category=category,
                pinned=pinned,
                publish_from=now - timedelta(days=10 + i),
                announced_at=now,
                created_by_id=admin.id,
            )
        )
