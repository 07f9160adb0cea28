"""Clicks on short links (no raw personal data: the visitor is a keyed hash of IP and
user agent, the referrer only its host) and the poster templates ops design."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.columns import str_enum
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class Click(db.Model):
    __tablename__ = "clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    product_id: Mapped[str | None] = mapped_column(String(64))
    visitor_hash: Mapped[str] = mapped_column(String(64), index=True)
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    sub_id: Mapped[str | None] = mapped_column(String(40))  # ``?sub=`` of the link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeepLink(db.Model):
    """A short link to any page of the shop, made from a URL the distributor pasted."""

    __tablename__ = "deep_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    slug: Mapped[str] = mapped_column(String(12), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


Index("ix_clicks_distributor_created", Click.distributor_id, Click.created_at)
Index("ix_clicks_created", Click.created_at)  # the admin reports count a date range


class PosterKind(enum.StrEnum):
    PRODUCT = "product"  # one product: its picture, price and the distributor's link to it
    INVITE = "invite"  # recruiting: the distributor's invite link


class PosterTemplate(db.Model):
    """A poster ops design: a background picture and where each element goes on it
    (``layout``, see :mod:`portal.links.posters`). ``version`` goes up on every save, so
    posters rendered from an older version are never served again."""

    __tablename__ = "poster_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[PosterKind] = mapped_column(str_enum(PosterKind), index=True)
    active: Mapped[bool] = mapped_column(default=False, index=True)
    background_file: Mapped[str] = mapped_column(String(80))  # name under the upload path
    width: Mapped[int]
    height: Mapped[int]
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
