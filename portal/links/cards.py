"""Share cards: one PNG per product with its image, name, price, the distributor's QR and
name — what people post in chat groups and on social media.

No Flask here: the view passes translated texts and the configured font in.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

import httpx
from PIL import Image, ImageDraw, ImageFont, ImageOps

from portal.links import qr

WIDTH, HEIGHT = 1080, 1440
MARGIN = 60
IMAGE_HEIGHT = 720
QR_SIZE = 340
IMAGE_TIMEOUT = 3.0  # seconds for the whole download
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding

INK, MUTED, ACCENT, SOFT = "#1d2330", "#5b6474", "#c2410c", "#f3f4f6"

# WenQuanYi Micro Hei (Apache-2.0 or GPL-3+ with the font exception) comes with the
# package's dependencies: the font-only wheel paperang-p2-fonts-cjk holds the very file
# Debian's fonts-wqy-microhei installs, so a plain `pip install` draws Chinese. A TrueType
# (glyf) font, which fpdf2 embeds with a clean text layer in the statement PDFs too.
PACKAGED_FONT: tuple[str, int] = (
    str(resources.files("paperang_p2_fonts_cjk").joinpath("fonts", "wqy-microhei.ttc")),
    0,
)
# After it, installed fonts that draw Chinese (Debian: fonts-noto-cjk, fonts-wqy-microhei,
# fonts-wqy-zenhei, fonts-droid-fallback, fonts-arphic-uming), then DejaVu (no CJK).
# Collections (.ttc) name the face: index 2 of Noto Sans CJK is Simplified Chinese.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    PACKAGED_FONT,
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Card:
    """What goes on a card; texts arrive translated and formatted."""

    name: str
    price: str | None
    image_url: str | None
    link: str
    scan_hint: str
    shared_by: str
    shop: str = ""  # the shop's name (settings), printed with its logo under the QR text
    logo: Image.Image | None = None


def find_font(configured: str | None = None) -> tuple[str, int] | None:
    """The configured font file if it exists, else the packaged WenQuanYi Micro Hei, else the first
    installed candidate."""
    if configured and os.path.isfile(configured):
        return configured, 0
    for path, index in FONT_CANDIDATES:
        if os.path.isfile(path):
            return path, index
    return None


@lru_cache(maxsize=32)
def _font(face: tuple[str, int] | None, size: int) -> Font:
    if face is not None:
        try:
            return ImageFont.truetype(face[0], size, index=face[1])
        except OSError:
            pass  # unreadable file or face: fall back to Pillow's own font
    return ImageFont.load_default(size=size)


def fetch_image(url: str | None) -> Image.Image | None:
    """The product image, or ``None`` on any failure (bad scheme, error status, too big,
    too slow, not an image): a card without the picture beats no card."""
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return None
    deadline = time.monotonic() + IMAGE_TIMEOUT
    body = bytearray()
    try:
        with (
            httpx.Client(timeout=IMAGE_TIMEOUT, follow_redirects=True, max_redirects=3) as http,
            http.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                return None
            if int(response.headers.get("Content-Length") or 0) > IMAGE_MAX_BYTES:
                return None
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > IMAGE_MAX_BYTES or time.monotonic() > deadline:
                    return None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(body))
            if image.width * image.height > IMAGE_MAX_PIXELS:
                return None
            image.draft("RGB", (WIDTH, IMAGE_HEIGHT))  # JPEG: decode at a smaller scale
            image.load()
    except (httpx.HTTPError, OSError, ValueError, Image.DecompressionBombError, Warning):
        return None
    return image


def _wrap(text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """Greedy wrap that breaks Latin text at spaces and CJK text anywhere."""
    lines: list[str] = []
    line = ""
    for char in " ".join(text.split()):
        if font.getlength(line + char) <= width or not line:
            line += char
            continue
        cut = line.rfind(" ")
        if char != " " and cut > 0 and line[cut + 1 :].isascii():
            lines.append(line[:cut])
            line = line[cut + 1 :] + char
        else:
            lines.append(line.rstrip())
            line = char.lstrip()
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def _picture(canvas: Image.Image, image: Image.Image | None, name: str, face: Font) -> None:
    area = (WIDTH, IMAGE_HEIGHT)
    canvas.paste(SOFT, (0, 0, *area))
    if image is None:  # a calm placeholder: the product's initial in a circle
        draw = ImageDraw.Draw(canvas)
        cx, cy, r = WIDTH // 2, IMAGE_HEIGHT // 2, 180
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=ACCENT)
        draw.text((cx, cy), (name.strip() or "?")[0], font=face, fill="#fff", anchor="mm")
        return
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    fitted = ImageOps.contain(image, area, Image.Resampling.LANCZOS)
    offset = ((WIDTH - fitted.width) // 2, (IMAGE_HEIGHT - fitted.height) // 2)
    canvas.paste(fitted, offset, fitted)


def _qr_image(link: str) -> Image.Image:
    return Image.open(io.BytesIO(qr.png(link, max_width=QR_SIZE))).convert("RGB")


def _brand(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, card: Card, face, x: int, column: int
) -> None:
    """The shop's logo and name along the bottom of the QR column."""
    size, bottom = 72, HEIGHT - MARGIN
    if card.logo is not None:
        logo = ImageOps.contain(
            ImageOps.exif_transpose(card.logo).convert("RGBA"),
            (size, size),
            Image.Resampling.LANCZOS,
        )
        canvas.paste(logo, (x, bottom - size + (size - logo.height) // 2), logo)
        x, column = x + size + 20, column - size - 20
    if card.shop:
        font = _font(face, 36)
        for line in _wrap(card.shop, font, column, max_lines=1):
            draw.text((x, bottom - size // 2), line, font=font, fill=INK, anchor="lm")


def render(card: Card, font_path: str | None = None, image: Image.Image | None = None) -> bytes:
    """The card as PNG bytes. ``image`` is the already fetched product picture, if any."""
    face = find_font(font_path)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "#fff")
    _picture(canvas, image, card.name, _font(face, 220))
    draw = ImageDraw.Draw(canvas)
    text_width = WIDTH - 2 * MARGIN

    y = IMAGE_HEIGHT + 40
    name_font = _font(face, 54)
    for line in _wrap(card.name, name_font, text_width, max_lines=2):
        draw.text((MARGIN, y), line, font=name_font, fill=INK)
        y += 68
    if card.price:
        draw.text((MARGIN, y + 8), card.price, font=_font(face, 64), fill=ACCENT)

    top = HEIGHT - MARGIN - QR_SIZE
    draw.line((MARGIN, top - 30, WIDTH - MARGIN, top - 30), fill="#dde1e8", width=3)
    code = _qr_image(card.link)
    canvas.paste(code, (MARGIN + (QR_SIZE - code.width) // 2, top + (QR_SIZE - code.height) // 2))
    x = MARGIN + QR_SIZE + 40
    column = WIDTH - MARGIN - x
    y = top + 60
    hint_font = _font(face, 44)
    for line in _wrap(card.scan_hint, hint_font, column, max_lines=2):
        draw.text((x, y), line, font=hint_font, fill=INK)
        y += 58
    y += 20
    by_font = _font(face, 36)
    branded = bool(card.shop or card.logo)
    for line in _wrap(card.shared_by, by_font, column, max_lines=2 if branded else 3):
        draw.text((x, y), line, font=by_font, fill=MUTED)
        y += 48
    if branded:
        _brand(canvas, draw, card, face, x, column)

    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()
