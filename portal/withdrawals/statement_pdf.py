"""Statements drawn as PDF with fpdf2 (maintained, pure Python, embeds a subset of the
TrueType font it is given, so Chinese names and texts show on any reader).

No Flask here: the caller passes the texts already translated into the distributor's
language and the font the share cards use (:func:`portal.links.cards.find_font`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace


@dataclass(frozen=True)
class Document:
    title: str
    number: str  # "No. 000042"
    facts: Sequence[tuple[str, str]]  # label, value: issued, period, issuer, distributor…
    columns: tuple[str, str, str]  # date, description, amount
    rows: Sequence[tuple[str, str, str]]
    total: tuple[str, str]  # label, amount
    payout: Sequence[tuple[str, str]]  # the withdrawal's figures; empty for a month
    note: str  # the self-billing sentence


def render(document: Document, font: tuple[str, int] | None) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, 18)
    if font is not None:
        pdf.add_font("body", fname=font[0], collection_font_number=font[1])
        family = "body"
    else:  # no TrueType font at all: the PDF core font (Latin only)
        family = "helvetica"
    pdf.set_title(f"{document.title} {document.number}")
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, height: float = 6) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(width, height, _latin(text, family), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(document.title, 18, 10)
    line(document.number, 12, 7)
    pdf.ln(2)
    for label, value in document.facts:
        line(f"{label}: {value}")
    pdf.ln(4)
    widths = (28, width - 28 - 34, 34)
    pdf.set_font(family, size=10)
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", "LEFT", "RIGHT"),
        line_height=6,
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="", fill_color=(235, 235, 235)),
    ) as table:
        for cells in (document.columns, *document.rows, ("", *document.total)):
            row = table.row()
            for text in cells:
                row.cell(_latin(text, family))
    pdf.ln(4)
    for label, value in document.payout:
        line(f"{label}: {value}")
    pdf.ln(4)
    line(document.note, 9, 5)
    return bytes(pdf.output())


def _latin(text: str, family: str) -> str:
    """The core font knows Latin-1 only: anything else becomes '?' rather than an error."""
    if family != "helvetica":
        return text
    return text.encode("latin-1", "replace").decode("latin-1")
