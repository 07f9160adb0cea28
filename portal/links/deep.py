"""Deep links: a short link to any page of the shop, made from a URL the distributor
pasted (a category, a landing page, a search). Only pages of the shop's own host are
accepted, and the redirect checks again, so a link can never send anyone elsewhere."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from portal import storefront
from portal.distributors.models import Distributor
from portal.errors import ServiceError
from portal.extensions import db
from portal.links import services
from portal.links.models import DeepLink
from portal.rendering import public_url

SLUG_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SLUG_LENGTH = 7
MAX_URL = 2000  # DeepLink.url
RECENT = 20


class DeepLinkError(ServiceError):
    """The pasted URL cannot become a link; the message says why."""


def create(distributor: Distributor, url: str) -> DeepLink:
    """The distributor's link to ``url`` (the same one again when they made it before).
    Flushed; the caller commits."""
    url = url.strip()
    shop_url = storefront.url()
    if len(url) > MAX_URL or not services.on_shop(shop_url, url):
        raise DeepLinkError(
            _("Paste the address of a page of the shop (%(shop)s).", shop=shop_url or "—")
        )
    existing = db.session.scalar(
        select(DeepLink).where(DeepLink.distributor_id == distributor.id, DeepLink.url == url)
    )
    if existing is not None:
        return existing
    while True:
        slug = "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))
        if db.session.scalar(select(DeepLink.id).where(DeepLink.slug == slug)) is None:
            break
    link = DeepLink(distributor_id=distributor.id, slug=slug, url=url)
    db.session.add(link)
    db.session.flush()
    return link


def recent(distributor_id: int) -> list[DeepLink]:
    return list(
        db.session.scalars(
            select(DeepLink)
            .where(DeepLink.distributor_id == distributor_id)
            .order_by(DeepLink.id.desc())
            .limit(RECENT)
        )
    )


def short_url(distributor: Distributor, link: DeepLink) -> str:
    return public_url("links.follow_deep", code=services.link_code(distributor), slug=link.slug)
