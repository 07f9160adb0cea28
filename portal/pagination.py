"""Pagination shared by list views: page numbers, and keyset pages for long lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from portal.extensions import db


def paginate(query: Any) -> Pagination:
    """Paginate a ``select()`` with ``?page=`` (bad numbers fall back to page 1)."""
    return db.paginate(
        query,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PORTAL_PAGE_SIZE"],
        error_out=False,
        count=True,
    )


# --- keyset pages ----------------------------------------------------------------------
#
# OFFSET pages cost more the further they are (the database reads and drops every row
# before the page); a keyset page starts *after the last row shown*, so every page is one
# index range. A list is one or more *segments* (queries shown one after the other, such
# as a team's levels) ordered by the same integer keys; the cursor in ``?after=`` /
# ``?before=`` is the segment and the keys of the row next to the page, e.g. ``0.1234``.


@dataclass(frozen=True)
class Key:
    """One sort key: an integer column of the listed entity, and its direction."""

    column: InstrumentedAttribute[int]
    descending: bool = False

    def order(self, backwards: bool) -> ColumnElement[Any]:
        return self.column.asc() if self.descending == backwards else self.column.desc()

    def beyond(self, value: int, backwards: bool) -> ColumnElement[bool]:
        """Rows strictly past ``value`` in the reading direction."""
        return self.column > value if self.descending == backwards else self.column < value


@dataclass(frozen=True)
class KeysetPage:
    items: list[Any]
    next_cursor: str | None  # for ?after=
    prev_cursor: str | None  # for ?before=
    total: int | None = None  # when the caller knows it cheaply


def _parse(token: str | None, segments: int, keys: int) -> tuple[int, list[int]] | None:
    """``segment.key1.key2…``; anything else (a stale or hand-made link) is no cursor."""
    parts = (token or "").split(".")
    if len(parts) != keys + 1 or not all(re.fullmatch(r"-?[0-9]{1,18}", p) for p in parts):
        return None
    segment, *values = (int(p) for p in parts)
    return (segment, values) if 0 <= segment < segments else None


def _beyond(keys: Sequence[Key], values: list[int], backwards: bool) -> ColumnElement[bool]:
    """(k1, k2, …) strictly past ``values`` in mixed directions: k1 past, or k1 equal and
    k2 past, …"""
    clauses = [
        and_(
            *(k.column == v for k, v in zip(keys[:n], values, strict=False)),
            keys[n].beyond(values[n], backwards),
        )
        for n in range(len(keys))
    ]
    return or_(*clauses)


def keyset_page(
    segments: Sequence[Select[Any]], keys: Sequence[Key], size: int | None = None
) -> KeysetPage:
    """The page after ``?after=`` (or before ``?before=``, or the first page) of the rows of
    ``segments`` in order, each ordered by ``keys`` (the last key must be unique). Reads at
    most one query per segment the page touches, each ``LIMIT size + 1``."""
    size = size or current_app.config["PORTAL_PAGE_SIZE"]
    before = _parse(request.args.get("before"), len(segments), len(keys))
    after = None if before else _parse(request.args.get("after"), len(segments), len(keys))
    cursor = before or after
    backwards = before is not None
    start, values = cursor if cursor else (0, None)
    order = range(start, -1, -1) if backwards else range(start, len(segments))
    rows: list[tuple[int, Any]] = []
    for segment in order:
        query = segments[segment]
        if values is not None and segment == start:
            query = query.where(_beyond(keys, values, backwards))
        query = query.order_by(*(k.order(backwards) for k in keys)).limit(size + 1 - len(rows))
        rows.extend((segment, item) for item in db.session.scalars(query))
        if len(rows) > size:
            break
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def token(row: tuple[int, Any]) -> str:
        segment, item = row
        return ".".join(str(v) for v in (segment, *(getattr(item, k.column.key) for k in keys)))

    has_next, has_prev = (cursor is not None, more) if backwards else (more, cursor is not None)
    return KeysetPage(
        items=[item for _segment, item in rows],
        next_cursor=token(rows[-1]) if rows and has_next else None,
        prev_cursor=token(rows[0]) if rows and has_prev else None,
    )
