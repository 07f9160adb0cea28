"""QR codes for short links: inline SVG for pages, PNG at print size for downloads."""

from __future__ import annotations

import io
import math

import segno
from markupsafe import Markup, escape

QUIET_ZONE = 4  # modules of white border the QR standard asks for
PRINT_WIDTH = 1000  # pixels: sharp on a flyer or a shop-window sticker
ERROR = "m"  # segno raises it to Q/H when that fits without a bigger symbol


def _make(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR, micro=False)


def svg(url: str, label: str) -> Markup:
    """An accessible inline SVG (``role="img"``, ``aria-label`` and ``<title>``)."""
    code = _make(url).svg_inline(
        scale=1,
        border=QUIET_ZONE,
        light="#fff",
        omitsize=True,
        title=label,
        svgclass="qr",
        lineclass=None,
    )
    attributes = f'<svg role="img" aria-label="{escape(label)}" '
    return Markup(code.replace("<svg ", attributes, 1))  # noqa: S704 - segno escapes its output


def png(url: str, min_width: int = PRINT_WIDTH, max_width: int | None = None) -> bytes:
    """A black-on-white PNG, quiet zone included, at least ``min_width`` pixels wide —
    or, with ``max_width``, as large as fits in it. Whole pixels per module keep it sharp."""
    code = _make(url)
    modules = code.symbol_size(border=QUIET_ZONE)[0]
    scale = max(1, max_width // modules) if max_width else math.ceil(min_width / modules)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()
