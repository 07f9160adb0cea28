"""The demo's poster templates: an autumn product poster and an invite poster on
generated backgrounds, plus the shop's name, as ops would set them up."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from portal.accounts.models import User
from portal.links import poster_services, posters
from portal.links.models import PosterKind

SIZE = (1080, 1920)


def _background(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> io.BytesIO:
    """A vertical gradient with a white card where the product and QR code go."""
    image = Image.new("RGB", SIZE)
    draw = ImageDraw.Draw(image)
    for y in range(SIZE[1]):
        t = y / SIZE[1]
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line((0, y, SIZE[0], y), fill=colour)
    draw.rounded_rectangle((40, 160, SIZE[0] - 40, SIZE[1] - 60), radius=36, fill="#fff")
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def _logo() -> io.BytesIO:
    image = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, 239, 239), fill="#ffffff")
    draw.ellipse((30, 30, 209, 209), fill=(22, 101, 52))
    draw.polygon(((120, 60), (170, 150), (120, 185), (70, 150)), fill="#ffffff")
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def _text(x: int, y: int, w: int, size: int, colour: str = posters.INK) -> dict[str, object]:
    return {"x": x, "y": y, "w": w, "size": size, "colour": colour, "shown": True}


PRODUCT_LAYOUT: posters.Layout = {
    "logo": {"x": 60, "y": 40, "size": 90, "shown": True},
    "shop": _text(170, 66, 850, 48, "#ffffff"),
    "picture": {"x": 90, "y": 210, "w": 900, "h": 900, "shown": True},
    "title": _text(90, 1140, 900, 56),
    "price": _text(90, 1300, 440, 72, posters.ACCENT),
    "earn": _text(540, 1322, 450, 40, posters.ACCENT),
    "qr": {"x": 90, "y": 1440, "size": 360, "shown": True},
    "distributor": _text(490, 1560, 500, 40, "#5b6474"),
}
INVITE_LAYOUT: posters.Layout = {
    "logo": {"x": 60, "y": 40, "size": 90, "shown": True},
    "shop": _text(170, 66, 850, 48, "#ffffff"),
    "title": _text(100, 300, 880, 92),
    "earn": _text(100, 580, 880, 56, posters.ACCENT),
    "qr": {"x": 240, "y": 820, "size": 600, "shown": True},
    "distributor": _text(100, 1540, 880, 48, "#5b6474"),
}


def seed_posters(admin: User) -> None:
    """The demo's poster templates and the shop's name and logo (flushed)."""
    for name, kind, layout, colours in (
        ("Autumn tea", PosterKind.PRODUCT, PRODUCT_LAYOUT, ((194, 65, 12), (251, 191, 36))),
        ("Join the team", PosterKind.INVITE, INVITE_LAYOUT, ((22, 101, 52), (134, 239, 172))),
    ):
        data = poster_services.TemplateData(name, kind, True, layout)
        poster_services.save_template(None, data, _background(*colours), admin)
    poster_services.save_brand("West Lake Tea", _logo(), False, admin)
