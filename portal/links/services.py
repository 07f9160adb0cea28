"""Short links: resolving a code, counting clicks, building the shop URL, product search.

The redirect is the hottest path of the portal (every shared link goes through it), so
``follow`` uses Core statements: one indexed SELECT, one INSERT, no ORM objects, no
settings reads.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from sqlalchemy import Engine, Select, bindparam, create_engine, insert, null, or_, select

from portal.catalogue.models import Product
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.formatting import money
from portal.forms import like_escape
from portal.links.models import Click, DeepLink
from portal.rendering import public_url

# Crawlers and link-preview fetchers (chat apps unfurl every shared link): they still get
# the redirect, but a click by them is not a person clicking.
# Named ones are listed even where "bot" would catch them, so the list documents itself.
BOT_RE = re.compile(
    r"bot\b|crawler|spider|preview|googlebot|bingbot|facebookexternalhit|facebot"
    r"|twitterbot|slackbot|slack-imgproxy|whatsapp|telegrambot|discordbot|linkedinbot"
    r"|skypeuripreview|embedly|pinterest|applebot|baiduspider|bytespider|petalbot"
    r"|^curl/|^wget/|python-requests|python-httpx|python-urllib|aiohttp|go-http-client"
    r"|okhttp|^java/|libwww-perl|^$",
    re.IGNORECASE,
)

UTM = (("utm_source", "portal"), ("utm_medium", "distributor"))
MAX_PRODUCT_ID = 64  # Click.product_id / Product.product_id length
MAX_SLUG = 12  # DeepLink.slug length
MAX_REFERRER_HOST = 255
# ``?sub=douyin-0312``: which post or channel a click came from. Letters, digits and
# ``-_.``, up to the column's 40; anything else is dropped (the link still works).
SUB_RE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


class Link(NamedTuple):
    """An active distributor's short link, resolved in one query."""

    distributor_id: int
    code: str
    product_id: str | None  # the shop's product id, when the catalogue knows it
    permalink: str | None


def is_bot(user_agent: str) -> bool:
    """Known crawlers, link-preview fetchers and scripts (an empty user agent counts)."""
    return BOT_RE.search(user_agent.strip()) is not None


def visitor_hash(secret: str, ip: str | None, user_agent: str) -> str:
    """Keyed hash of the visitor (IP + user agent): repeat visits match, nothing raw is kept."""
    message = f"{ip or ''}\n{user_agent}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def referrer_host(referrer: str | None) -> str | None:
    """Only the host of the page the visitor came from (no path, no query)."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return host[:MAX_REFERRER_HOST] if host else None


def clean_sub(raw: str | None) -> str | None:
    """The sub-id a link carries, or ``None`` when it has none or it is not one."""
    sub = (raw or "").strip()
    return sub if SUB_RE.fullmatch(sub) else None


class Visit(NamedTuple):
    """What is kept of one person's click: no raw IP, user agent or referrer URL."""

    visitor_hash: str
    referrer_host: str | None
    sub_id: str | None = None


# Built once: the redirect only binds values (no statement construction per request).
# A link names the distributor by their issued code or the vanity code they chose; the
# shop is always given the issued one (its plugin and coupons know only those).
_ACTIVE = (
    or_(Distributor.code == bindparam("code"), Distributor.vanity_code == bindparam("code")),
    Distributor.status == DistributorStatus.ACTIVE,
)
_SHOP_LINK = select(Distributor.id, Distributor.code, null(), null()).where(*_ACTIVE)
_PRODUCT_LINK = (
    select(Distributor.id, Distributor.code, Product.product_id, Product.permalink)
    .select_from(Distributor)
    .outerjoin(Product, Product.product_id == bindparam("product_id"))
    .where(*_ACTIVE)
)
_DEEP_LINK = (
    select(Distributor.id, Distributor.code, null(), DeepLink.url)
    .select_from(Distributor)
    .join(
        DeepLink,
        (DeepLink.distributor_id == Distributor.id) & (DeepLink.slug == bindparam("slug")),
    )
    .where(*_ACTIVE)
)
_CLICK = insert(Click)


def click_engine() -> Engine:
    """The engine short links use. Clicks are analytics, not money: on PostgreSQL they
    commit without waiting for the WAL flush (``synchronous_commit=off``: a database crash
    may lose the last fraction of a second of clicks, never an order or a ledger entry,
    which keep ``db.engine``) and skip the pool's pre-ping. That wait was most of a
    redirect's time. Elsewhere (SQLite) it is ``db.engine``."""
    engine = current_app.extensions.get("portal.clicks")
    if engine is None:
        engine = db.engine
        if engine.dialect.name == "postgresql":
            engine = create_engine(
                engine.url,
                connect_args={"options": "-c synchronous_commit=off"},
                pool_size=2,
                max_overflow=8,
            )
        current_app.extensions["portal.clicks"] = engine
    return engine


def follow(
    code: str, product_id: str | None, visit: Visit | None, slug: str | None = None
) -> Link | None:
    """Resolve an active distributor's short link and count the visit (``None``: a bot).

    One SELECT (the distributor by its unique code, the product outer-joined by its
    unique shop id, or the deep link by its unique slug) and one INSERT on an autocommit
    connection: a click is a single row that needs no transaction, and skipping
    BEGIN/COMMIT halves the round trips.
    """
    code = codes.normalise(code)
    if not codes.is_link_code(code):
        return None
    if slug is not None:
        if len(slug) > MAX_SLUG:
            return None
        query, params = _DEEP_LINK, {"code": code, "slug": slug}
    elif product_id is None or len(product_id) > MAX_PRODUCT_ID:
        query, params = _SHOP_LINK, {"code": code}
    else:
        query, params = _PRODUCT_LINK, {"code": code, "product_id": product_id}
    with click_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(query, params).first()
        if row is None:
            return None
        link = Link(*row)
        if visit is not None:
            conn.execute(
                _CLICK,
                {
                    "distributor_id": link.distributor_id,
                    "product_id": link.product_id,
                    "visitor_hash": visit.visitor_hash,
                    "referrer_host": visit.referrer_host,
                    "sub_id": visit.sub_id,
                },
            )
    return link


@lru_cache(maxsize=8)
def _shop(shop_url: str) -> SplitResult:
    parts = urlsplit(shop_url.strip())
    return parts._replace(path=parts.path or "/", fragment="")


def _on_shop(url: str, shop: SplitResult) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.hostname.lower() != (shop.hostname or "").lower() or port != shop.port:
        return None
    return parts


def on_shop(shop_url: str, url: str) -> bool:
    """Whether ``url`` is a page of the shop (same host and port, http or https)."""
    return bool(shop_url) and _on_shop(url, _shop(shop_url)) is not None


def target_url(shop_url: str, permalink: str | None, code: str, sub: str | None = None) -> str:
    """Where a short link sends the visitor: the product (or pasted) page when it lives on
    the shop's host, the shop home otherwise — never another host. Existing query
    parameters stay; the portal's utm/ref parameters replace any of the same name. A
    sub-id travels as ``utm_content`` (the shop's own order attribution records it)
    and as ``portal_sub`` (the companion plugin writes it on the order)."""
    shop = _shop(shop_url)
    parts = (_on_shop(permalink, shop) if permalink else None) or shop
    ours: tuple[tuple[str, str], ...] = (*UTM, ("utm_campaign", code), ("ref", code))
    if sub:
        ours = (*ours, ("utm_content", sub), ("portal_sub", sub))
    names = {name for name, _ in ours}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode([*kept, *ours])))


# --- the distributor's links page --------------------------------------------------------


def link_code(distributor: Distributor) -> str:
    """The code a distributor's links show: the vanity code they chose, else their own."""
    return distributor.vanity_code or distributor.code


def short_url(code: str, product_id: str | None = None) -> str:
    """The absolute short link a distributor shares."""
    if product_id is None:
        return public_url("links.follow", code=code)
    return public_url("links.follow_product", code=code, product_id=product_id)


def invite_url(code: str) -> str:
    return public_url("join.invite", code=code)


def products_query(search: str = "") -> Select[tuple[Product]]:
    """Catalogue products whose name or shop id matches ``search`` (all when empty)."""
    query = select(Product).order_by(Product.name, Product.id)
    term = search.strip()[:100]
    if term:
        pattern = f"%{like_escape(term)}%"
        query = query.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.product_id == term)
        )
    return query


def product(product_id: str) -> Product | None:
    if len(product_id) > MAX_PRODUCT_ID:
        return None
    return db.session.scalar(select(Product).where(Product.product_id == product_id))


def price_text(price: str | None) -> str | None:
    """The catalogue's price string in the shop currency (``None`` when there is none)."""
    try:
        amount = Decimal(price or "")
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return money(amount)


@dataclass(frozen=True)
class ProductLink:
    """A catalogue product with the distributor's short link to it."""

    product: Product
    url: str
    price: str | None


def product_links(products: list[Product], code: str) -> list[ProductLink]:
    return [
        ProductLink(product=p, url=short_url(code, p.product_id), price=price_text(p.price))
        for p in products
    ]
