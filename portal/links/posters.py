"""Posters: a background picture with the product picture, price, the distributor's QR
code, their name, what they earn, the shop's name and logo placed where a template says —
one PNG that people save in WeChat (long-press) and post in Moments and group chats.

No Flask and no database here: :mod:`portal.links.poster_services` passes the design,
the translated texts and the pictures in. Glyphs come from
:func:`portal.links.cards.find_font`, so share cards and posters draw Chinese alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from portal.links import cards, qr
from portal.links.models import PosterKind


class Shape(StrEnum):
    BOX = "box"  # a picture: x, y, width, height
    SQUARE = "square"  # the QR code and the logo: x, y, size
    TEXT = "text"  # x, y, width (text wraps or is cut with …), font size, colour


@dataclass(frozen=True)
class Slot:
    """One element a template places."""

    name: str
    shape: Shape
    lines: int = 1  # text: at most this many lines
    minimum: int = 8  # the smallest size (QR codes smaller than this do not scan)


SLOTS: dict[str, Slot] = {
    slot.name: slot
    for slot in (
        Slot("picture", Shape.BOX, minimum=40),
        Slot("title", Shape.TEXT, lines=2),
        Slot("price", Shape.TEXT),
        Slot("earn", Shape.TEXT, lines=2),
        Slot("qr", Shape.SQUARE, minimum=160),
        Slot("distributor", Shape.TEXT, lines=2),
        Slot("shop", Shape.TEXT),
        Slot("logo", Shape.SQUARE, minimum=16),
    )
}

# The elements of each kind of poster (an invite has no product: its title is the
# invitation, its earn line the commission rate).
KIND_SLOTS: dict[PosterKind, tuple[str, ...]] = {
    PosterKind.PRODUCT: ("picture", "title", "price", "earn", "qr", "distributor", "shop", "logo"),
    PosterKind.INVITE: ("title", "earn", "qr", "distributor", "shop", "logo"),
}

MIN_SIDE, MAX_SIDE = 400, 4000  # a background's width and height, pixels
MAX_FONT = 400
LINE_SPACING = 1.25
DEFAULT_SIZE = (1080, 1440)
INK, ACCENT, SOFT = cards.INK, cards.ACCENT, cards.SOFT
Layout = dict[str, dict[str, Any]]


def _text(x: int, y: int, w: int, size: int, colour: str = INK, shown: bool = True):
    return {"x": x, "y": y, "w": w, "size": size, "colour": colour, "shown": shown}


DEFAULT_LAYOUTS: dict[PosterKind, Layout] = {
    PosterKind.PRODUCT: {
        "shop": _text(150, 48, 870, 40),
        "logo": {"x": 60, "y": 30, "size": 76, "shown": True},
        "picture": {"x": 60, "y": 130, "w": 960, "h": 720, "shown": True},
        "title": _text(60, 880, 960, 52),
        "price": _text(60, 1020, 480, 64, ACCENT),
        "earn": _text(560, 1036, 460, 40, ACCENT, shown=False),
        "qr": {"x": 60, "y": 1110, "size": 300, "shown": True},
        "distributor": _text(400, 1190, 620, 40, cards.MUTED),
    },
    PosterKind.INVITE: {
        "shop": _text(190, 88, 830, 48),
        "logo": {"x": 60, "y": 60, "size": 110, "shown": True},
        "title": _text(60, 300, 960, 88),
        "earn": _text(60, 560, 960, 52, ACCENT),
        "qr": {"x": 290, "y": 760, "size": 500, "shown": True},
        "distributor": _text(60, 1300, 960, 44, cards.MUTED),
    },
}


@dataclass(frozen=True)
class Design:
    """What a poster is drawn on and where things go. ``key`` names the template and its
    version (rendered posters are kept under it)."""

    key: str
    kind: PosterKind
    size: tuple[int, int]
    layout: Layout
    background: Image.Image | None = None  # None: a white canvas of ``size``


@dataclass(frozen=True)
class Content:
    """The texts (translated and formatted) and pictures that fill a design."""

    link: str  # what the QR code opens
    title: str = ""
    price: str | None = None
    earn: str | None = None
    name: str = ""
    shop: str = ""
    picture: Image.Image | None = None
    logo: Image.Image | None = None


def default_design(kind: PosterKind) -> Design:
    """The poster distributors get while ops have not made one of this kind active."""
    return Design(f"default-{kind.value}", kind, DEFAULT_SIZE, DEFAULT_LAYOUTS[kind])


def extent(slot: Slot, spec: dict[str, Any]) -> tuple[int, int]:
    """Width and height an element takes (a text: its lines at its font size)."""
    if slot.shape is Shape.BOX:
        return spec["w"], spec["h"]
    if slot.shape is Shape.SQUARE:
        return spec["size"], spec["size"]
    return spec["w"], round(spec["size"] * LINE_SPACING * slot.lines)


def problems(kind: PosterKind, layout: Layout, size: tuple[int, int]) -> dict[str, str]:
    """Slot name → which rule it breaks (``"outside"``, ``"small"``): every shown element
    lies wholly on the canvas and is not too small. Empty when the layout is good."""
    found: dict[str, str] = {}
    for name in KIND_SLOTS[kind]:
        spec, slot = layout.get(name), SLOTS[name]
        if not spec or not spec.get("shown", True):
            continue
        width, height = extent(slot, spec)
        measure = spec["size"] if slot.shape is not Shape.BOX else min(width, height)
        if measure < slot.minimum:
            found[name] = "small"
        elif not (0 <= spec["x"] <= size[0] - width and 0 <= spec["y"] <= size[1] - height):
            found[name] = "outside"
    return found


def _fit(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    return ImageOps.contain(image, box, Image.Resampling.LANCZOS)


def _paste_centred(canvas: Image.Image, image: Image.Image, spec: dict[str, Any], box) -> None:
    fitted = _fit(image, box)
    x = spec["x"] + (box[0] - fitted.width) // 2
    y = spec["y"] + (box[1] - fitted.height) // 2
    canvas.paste(fitted, (x, y), fitted)


def _placeholder(canvas: Image.Image, spec: dict[str, Any], title: str, face) -> None:
    """A calm stand-in for a missing product picture: its initial in a circle."""
    draw = ImageDraw.Draw(canvas)
    x, y, w, h = spec["x"], spec["y"], spec["w"], spec["h"]
    draw.rectangle((x, y, x + w - 1, y + h - 1), fill=SOFT)
    r = max(8, min(w, h) // 4)
    cx, cy = x + w // 2, y + h // 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ACCENT)
    initial = (title.strip() or "?")[0]
    draw.text((cx, cy), initial, font=cards._font(face, r), fill="#fff", anchor="mm")


def _write(draw: ImageDraw.ImageDraw, text: str, slot: Slot, spec: dict[str, Any], face) -> None:
    font = cards._font(face, spec["size"])
    y = spec["y"]
    for line in cards._wrap(text, font, spec["w"], max_lines=slot.lines):
        draw.text((spec["x"], y), line, font=font, fill=spec.get("colour") or INK)
        y += round(spec["size"] * LINE_SPACING)


def render(design: Design, content: Content, font_path: str | None = None) -> bytes:
    """The poster as PNG bytes, at the design's size."""
    face = cards.find_font(font_path)
    if design.background is not None:
        canvas = ImageOps.exif_transpose(design.background).convert("RGB")
        if canvas.size != design.size:
            canvas = ImageOps.fit(canvas, design.size, Image.Resampling.LANCZOS)
    else:
        canvas = Image.new("RGB", design.size, "#fff")
    texts = {
        "title": content.title,
        "price": content.price or "",
        "earn": content.earn or "",
        "distributor": content.name,
        "shop": content.shop,
    }
    draw = ImageDraw.Draw(canvas)
    for name in KIND_SLOTS[design.kind]:
        spec, slot = design.layout.get(name), SLOTS[name]
        if not spec or not spec.get("shown", True):
            continue
        if name == "picture":
            if content.picture is not None:
                _paste_centred(canvas, content.picture, spec, (spec["w"], spec["h"]))
            else:
                _placeholder(canvas, spec, content.title, face)
        elif name == "qr":
            # Whole pixels per module, never rescaled: a sharp code scans from a photo too.
            code = Image.open(io.BytesIO(qr.png(content.link, max_width=spec["size"])))
            offset = (spec["size"] - code.width) // 2
            canvas.paste(code.convert("RGB"), (spec["x"] + offset, spec["y"] + offset))
        elif name == "logo":
            if content.logo is not None:
                _paste_centred(canvas, content.logo, spec, (spec["size"], spec["size"]))
        elif texts[name]:
            _write(draw, texts[name], slot, spec, face)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False)
    return out.getvalue()
