"""Poster rules: ops' templates (checked uploads, layouts that fit, a version per save),
the shop's name and logo, and each distributor's posters, rendered once and kept.

A rendered poster is kept on disk under the upload path, keyed by the template and its
version, the distributor and the product, plus a digest of everything printed on it
(texts, link, picture URL, logo): a page asks for it again and gets the file, a renamed
product or a new price draws a new one, and a saved template (a new version) drops every
poster of its older versions.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import select

from portal import uploads
from portal.accounts.models import User
from portal.audit import services as audit
from portal.catalogue.models import Product
from portal.commissions import estimates
from portal.distributors.models import Distributor
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.formatting import money, percent
from portal.links import cards, posters, services
from portal.links.models import PosterKind, PosterTemplate
from portal.settings import services as settings

SAMPLE_CODE = "SAMPLE"


class PosterError(ServiceError):
    """A template that cannot be saved."""


# --- templates ---------------------------------------------------------------------------


def all_templates() -> list[PosterTemplate]:
    return list(
        db.session.scalars(
            select(PosterTemplate).order_by(PosterTemplate.kind, PosterTemplate.id.desc())
        )
    )


def active_templates(kind: PosterKind) -> list[PosterTemplate]:
    """The templates distributors choose from, newest first."""
    return list(
        db.session.scalars(
            select(PosterTemplate)
            .where(PosterTemplate.kind == kind, PosterTemplate.active.is_(True))
            .order_by(PosterTemplate.id.desc())
        )
    )


def chosen(kind: PosterKind, template_id: int | None) -> PosterTemplate | None:
    """The active template a distributor asked for, else the newest active one, else
    ``None`` (the built-in design). :class:`~portal.errors.NotFound` for an id that is not an active
    template of this kind."""
    found = active_templates(kind)
    if template_id is None:
        return found[0] if found else None
    for template in found:
        if template.id == template_id:
            return template
    raise NotFound(_("No such poster template."))


@dataclass(frozen=True)
class TemplateData:
    name: str
    kind: PosterKind
    active: bool
    layout: posters.Layout


def _background(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    if not (posters.MIN_SIDE <= width <= posters.MAX_SIDE) or not (
        posters.MIN_SIDE <= height <= posters.MAX_SIDE
    ):
        raise PosterError(
            _(
                "The background must be %(min)d to %(max)d pixels wide and high.",
                min=posters.MIN_SIDE,
                max=posters.MAX_SIDE,
            ),
            "background",
        )
    return width, height


def check_layout(kind: PosterKind, layout: posters.Layout, size: tuple[int, int]) -> None:
    """:class:`PosterError` on the first element that leaves the canvas or is too small
    (its field is ``<element>-x``)."""
    for name, problem in posters.problems(kind, layout, size).items():
        if problem == "small":
            message = _("Too small to read or scan: make it bigger.")
        else:
            message = _(
                "Goes off the %(width)d × %(height)d picture: move it or make it smaller.",
                width=size[0],
                height=size[1],
            )
        raise PosterError(message, f"{name}-x")


def checked_background(stream: IO[bytes] | None) -> tuple[bytes, tuple[int, int]] | None:
    """An uploaded background checked like material images (type from the content, size
    and pixel caps) and for its dimensions; ``None`` when nothing was uploaded."""
    if stream is None:
        return None
    try:
        data, _extension, _mime = uploads.check(stream)
    except uploads.UploadError as exc:
        raise PosterError(exc.message, "background") from exc
    return data, _background(data)


def save_template(
    template: PosterTemplate | None,
    data: TemplateData,
    background: IO[bytes] | None,
    actor: User,
) -> PosterTemplate:
    """Create (``template`` None) or update a template, one version up; nothing is stored
    or changed when the upload or the layout is refused (:class:`PosterError`). Flushes."""
    upload = checked_background(background)
    if upload is None and template is None:
        raise PosterError(_("A poster template needs a background picture."), "background")
    size = upload[1] if upload else (template.width, template.height)  # type: ignore[union-attr]
    check_layout(data.kind, data.layout, size)
    creating = template is None
    if template is None:
        template = PosterTemplate(created_by_id=actor.id, version=0)
        db.session.add(template)
    if upload is not None:
        template.background_file, _mime = uploads.store(io.BytesIO(upload[0]))
        template.width, template.height = size
    template.name = data.name.strip()
    template.kind = data.kind
    template.active = data.active
    template.layout = data.layout
    template.version = (template.version or 0) + 1
    db.session.flush()
    audit.record(
        actor,
        "poster_template.create" if creating else "poster_template.update",
        "poster_template",
        template.id,
        after={"name": template.name, "kind": template.kind.value, "version": template.version},
    )
    _drop_cache(template.id, keep=template.version)
    return template


def delete_template(template: PosterTemplate, actor: User) -> None:
    """Flushes; the background file stays (a template is small, an audit may point at it)."""
    audit.record(
        actor,
        "poster_template.delete",
        "poster_template",
        template.id,
        before={"name": template.name, "kind": template.kind.value},
    )
    template_id = template.id
    db.session.delete(template)
    db.session.flush()
    _drop_cache(template_id, keep=None)


def design(template: PosterTemplate | None, kind: PosterKind) -> posters.Design:
    if template is None:
        return posters.default_design(kind)
    with Image.open(uploads.path(template.background_file)) as source:
        source.load()
        background = source.copy()
    return posters.Design(
        key=f"t{template.id}-v{template.version}",
        kind=template.kind,
        size=(template.width, template.height),
        layout=template.layout,
        background=background,
    )


# --- the shop's name and logo ------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    name: str
    logo_file: str  # under the upload path; "" for none

    def logo(self) -> Image.Image | None:
        if not self.logo_file:
            return None
        try:
            with Image.open(uploads.path(self.logo_file)) as source:
                source.load()
                return source.copy()
        except OSError:
            return None


def brand() -> Brand:
    return Brand(settings.get("shop_name"), settings.get("shop_logo"))


def save_brand(name: str, logo: IO[bytes] | None, remove_logo: bool, actor: User) -> list[str]:
    """The shop name and logo printed on cards and posters (settings, audited); returns
    the settings that changed. The logo is checked like material images. Flushes."""
    values: dict[str, str] = {"shop_name": name.strip()}
    if logo is not None:
        try:
            values["shop_logo"], _mime = uploads.store(logo)
        except uploads.UploadError as exc:
            raise PosterError(exc.message, "logo") from exc
    elif remove_logo:
        values["shop_logo"] = ""
    changed = settings.update(values, actor)
    db.session.flush()
    return changed


# --- what a poster says ------------------------------------------------------------------


def earn_amount(distributor: Distributor, product: Product) -> Decimal | None:
    """What the distributor earns when they sell one unit: the Share page's estimate (the
    engine on a one-unit order at the catalogue price; ``None`` without a price)."""
    estimate = estimates.Estimator(distributor).product(product)
    return estimate.own if estimate is not None else None


def own_rate(distributor: Distributor) -> Decimal | None:
    """The percentage the distributor earns on their own sales where no override applies."""
    rates = estimates.Estimator(distributor).rates().rates
    return rates[0] if rates else None


@dataclass(frozen=True)
class Texts:
    """A poster's words and where its pictures come from (nothing fetched yet)."""

    link: str
    title: str
    price: str | None
    earn: str | None
    name: str
    shop: str
    picture_url: str | None
    logo_file: str

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()


# When the distributor's group must order the product by (an open group-buy round), as
# the pickup package answers it: it registers the one function at start-up
# (``portal.pickup.services.install``), so links never import it.
Deadline = Callable[[Distributor, Product], datetime | None]
DEADLINES: list[Deadline] = []


def product_texts(distributor: Distributor, product: Product) -> Texts:
    shop = brand()
    amount = earn_amount(distributor, product)
    deadline = DEADLINES[0](distributor, product) if DEADLINES else None
    name = _("Shared by %(name)s", name=distributor.display_name)
    if deadline is not None:
        name = _(
            "%(shared)s · order by %(deadline)s",
            shared=name,
            deadline=format_datetime(deadline, "short"),
        )
    return Texts(
        link=services.short_url(services.link_code(distributor), product.product_id),
        title=product.name or product.product_id,
        price=services.price_text(product.price),
        earn=_("Share and earn %(amount)s", amount=money(amount)) if amount else None,
        name=name,
        shop=shop.name,
        picture_url=product.image_url,
        logo_file=shop.logo_file,
    )


def invite_texts(distributor: Distributor) -> Texts:
    shop = brand()
    rate = own_rate(distributor)
    return Texts(
        link=services.invite_url(services.link_code(distributor)),
        title=_("Join %(shop)s: share and earn", shop=shop.name)
        if shop.name
        else _("Join my team: share and earn"),
        price=None,
        earn=_("Earn %(rate)s on every order you bring", rate=percent(rate)) if rate else None,
        name=_("Scan to join · invited by %(name)s", name=distributor.display_name),
        shop=shop.name,
        picture_url=None,
        logo_file=shop.logo_file,
    )


def sample_texts(kind: PosterKind) -> Texts:
    """What the admin preview shows: a made-up product and distributor."""
    shop = brand()
    if kind is PosterKind.INVITE:
        link = services.invite_url(SAMPLE_CODE)
        title = _("Join %(shop)s: share and earn", shop=shop.name or _("the shop"))
        return Texts(
            link,
            title,
            None,
            _("Earn %(rate)s on every order you bring", rate=percent(Decimal(10))),
            _("Scan to join · invited by %(name)s", name=_("Distributor name")),
            shop.name,
            None,
            shop.logo_file,
        )
    return Texts(
        services.short_url(SAMPLE_CODE, "1"),
        _("Sample product with a name long enough to wrap onto a second line"),
        money(Decimal("99")),
        _("Share and earn %(amount)s", amount=money(Decimal("9.90"))),
        _("Shared by %(name)s", name=_("Distributor name")),
        shop.name,
        None,
        shop.logo_file,
    )


def draw(design: posters.Design, texts: Texts) -> bytes:
    """Fetches the product picture (if any) and renders."""
    content = posters.Content(
        link=texts.link,
        title=texts.title,
        price=texts.price,
        earn=texts.earn,
        name=texts.name,
        shop=texts.shop,
        picture=cards.fetch_image(texts.picture_url),
        logo=Brand(texts.shop, texts.logo_file).logo(),
    )
    return posters.render(design, content, current_app.config["PORTAL_CARD_FONT"] or None)


# --- the kept posters --------------------------------------------------------------------


def _cache_root() -> Path:
    return Path(current_app.config["PORTAL_UPLOAD_PATH"]) / "posters"


def _drop_cache(template_id: int, keep: int | None) -> None:
    """Remove the kept posters of a template's versions other than ``keep``."""
    root = _cache_root()
    if not root.is_dir():
        return
    for folder in root.glob(f"t{template_id}-v*"):
        if keep is None or folder.name != f"t{template_id}-v{keep}":
            shutil.rmtree(folder, ignore_errors=True)


def kept(
    key: str, distributor_id: int, subject: str, texts: Texts, make: Callable[[], bytes]
) -> bytes:
    """The poster from the cache, or made, kept and returned. ``subject`` names what it
    is of (a product id or "invite"); older posters of the same subject are removed. The
    file is written beside and renamed into place, so a reader never sees half of one."""
    safe = "".join(ch for ch in subject if ch.isascii() and (ch.isalnum() or ch in "-_"))
    folder = _cache_root() / key / str(distributor_id) / (safe or "_")
    face = cards.find_font(current_app.config["PORTAL_CARD_FONT"] or None)
    digest = hashlib.sha256(f"{texts.digest()}\n{face}".encode()).hexdigest()[:32]
    path = folder / f"{digest}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = make()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
    return data


def product_poster(
    distributor: Distributor, product: Product, template: PosterTemplate | None
) -> bytes:
    texts = product_texts(distributor, product)
    key = f"t{template.id}-v{template.version}" if template else "default-product"
    return kept(
        key,
        distributor.id,
        product.product_id,
        texts,
        lambda: draw(design(template, PosterKind.PRODUCT), texts),
    )


def invite_poster(distributor: Distributor, template: PosterTemplate | None) -> bytes:
    texts = invite_texts(distributor)
    key = f"t{template.id}-v{template.version}" if template else "default-invite"
    return kept(
        key,
        distributor.id,
        "invite",
        texts,
        lambda: draw(design(template, PosterKind.INVITE), texts),
    )
