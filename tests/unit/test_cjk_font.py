"""Chinese glyphs on a fresh machine: the font comes with `pip install`, not with apt.

"Tofu" is what a font draws for a character it lacks: its .notdef glyph (an empty or
crossed box). A character is drawn for real when its bitmap differs from that box.
"""

from __future__ import annotations

import io
import os

import pypdf
import pytest
from PIL import ImageFont

from portal.links import cards
from portal.withdrawals import statement_pdf

CHINESE = "分享赚钱提现中对账单龙井茶"
NOT_IN_ANY_FONT = "\U0010fffd"  # a private-use code point: every font shows .notdef for it


def tofu(face: tuple[str, int], text: str) -> list[str]:
    """The characters of ``text`` that ``face`` draws as its .notdef box."""
    font = ImageFont.truetype(face[0], 48, index=face[1])
    notdef = font.getmask(NOT_IN_ANY_FONT)
    box = (notdef.size, bytes(notdef))
    return [ch for ch in text if (font.getmask(ch).size, bytes(font.getmask(ch))) == box]


def test_the_packaged_font_is_preferred_and_draws_chinese() -> None:
    face = cards.find_font()
    assert face == cards.PACKAGED_FONT  # before any system font, installed or not
    assert tofu(face, CHINESE) == []


def test_the_tofu_check_sees_boxes_in_a_latin_only_font() -> None:
    # The check itself is real: DejaVu (Latin, no CJK) draws every Chinese character as .notdef.
    dejavu = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0)
    if not os.path.isfile(dejavu[0]):
        pytest.skip("DejaVu is not installed")
    assert tofu(dejavu, CHINESE) == list(CHINESE)
    assert tofu(dejavu, "Tea") == []


def test_a_configured_font_still_wins(tmp_path) -> None:
    assert cards.find_font(cards.PACKAGED_FONT[0]) == cards.PACKAGED_FONT
    assert cards.find_font(str(tmp_path / "missing.otf")) == cards.PACKAGED_FONT


def test_the_statement_pdf_embeds_the_packaged_font_with_its_chinese_text() -> None:
    document = statement_pdf.Document(
        title="对账单",
        number="No. 000042",
        facts=[("分销员", "龙井茶小店")],
        columns=("日期", "说明", "金额"),
        rows=[("2026-12-01", "佣金", "¥4.55")],
        total=("合计", "¥4.55"),
        payout=[],
        note="自开票说明",
    )
    reader = pypdf.PdfReader(io.BytesIO(statement_pdf.render(document, cards.find_font())))
    text = reader.pages[0].extract_text()
    assert "对账单" in text and "龙井茶小店" in text  # a text layer one can search and copy
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(fonts[key].get_object()["/BaseFont"]) for key in fonts}
    assert any("WenQuanYi" in name for name in names)
