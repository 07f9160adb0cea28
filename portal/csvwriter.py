"""The one CSV writer of every download (payout files, reports, statements): each cell
passes through the formula guard, so no export can forget it.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or
a tab or carriage return before one) as a formula — names, accounts, order numbers and
notes are typed by people, so any of them can carry ``=HYPERLINK(...)``. Such a cell gets
an apostrophe in front (OWASP's advice), which spreadsheets show as plain text.
Fullwidth ``＝ ＋ － ＠`` are guarded too: Chinese input methods type them and some
spreadsheets read them as the ASCII operators. Numbers (``int`` and ``Decimal``, which
the portal formats itself) are left alone so amounts stay numbers, negative ones too.

(``defusedcsv`` does the same job but lets a leading tab, carriage return or space
through; these few lines keep the whole list in one place.)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_LEAD = frozenset("=+-@\t\r\n＝＋－＠")
_IGNORED_LEAD = " \u00a0\u3000"  # spreadsheets skip these before reading a formula


class _Text(Protocol):
    def write(self, text: str, /) -> Any: ...


def cell(value: object) -> object:
    """``value`` as it may go into a CSV cell: text that would start a formula gets a
    leading apostrophe; numbers and empty cells pass unchanged."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.lstrip(_IGNORED_LEAD)[:1] in FORMULA_LEAD:
        return "'" + text
    return text


class GuardedWriter:
    """:func:`csv.writer` whose rows go through :func:`cell`, cell by cell."""

    def __init__(self, stream: _Text) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
