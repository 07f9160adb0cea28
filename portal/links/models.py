"""Clicks on short links. No raw personal data: the visitor is a keyed hash of IP and
user agent, the referrer only its host."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

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
