"""Posters: ops' templates (checked uploads, layouts that fit, role checks, live preview),
the shop's name and logo, and each distributor's own product and invite posters —
rendered at the template's size with a QR code that decodes to their link, kept between
requests, and shown inline for WeChat's long-press."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.catalogue.models import Product
from portal.commissions.models import CommissionPlan
from portal.extensions import db
from portal.links import posters
from portal.links.models import PosterKind, PosterTemplate
from portal.settings import services as settings
from tests.helpers import csrf_token, login
from tests.images import PADDING, PICTURE_COLOUR, ImageServer, png_bytes

BASE = "https://partners.example"
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) NetType/WIFI Language/zh_CN"
)
BACKGROUND = (250, 235, 215)


@pytest.fixture
def portal(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """A public address for links, affiliates earning 10 %, a product in the catalogue,
    an upload folder (with the kept posters) of its own."""
    saved = app.config["PORTAL_BASE_URL"], app.config["PORTAL_UPLOAD_PATH"]
    app.config.update(PORTAL_BASE_URL=BASE, PORTAL_UPLOAD_PATH=str(tmp_path))
    with app.app_context():
        db.session.add(
            CommissionPlan(role="affiliate", max_depth=1, rate_depth1=D("10"), basis="product")
        )
        db.session.add(
            Product(product_id="93", name="Longjing green tea", price="19.90", category_ids=[])
        )
        db.session.commit()
    yield app
    app.config["PORTAL_BASE_URL"], app.config["PORTAL_UPLOAD_PATH"] = saved


def decode(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def distributor_client(app: Flask, make_distributor, email: str, name: str = "Wu") -> Any:
    _, code = make_distributor(email, name=name)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client, code


def staff_client(app: Flask, make_user, role: Role = Role.OPS) -> FlaskClient:
    make_user(f"{role.value}@shop.example", role)
    client = app.test_client()
    assert login(client, f"{role.value}@shop.example").status_code == 302
    return client


def fields(kind: PosterKind, layout: dict[str, dict[str, Any]] | None = None, **extra: Any):
    """The template form's fields for a layout (the built-in one by default)."""
    data: dict[str, Any] = {"name": "Autumn tea", "active": "y", **extra}
    for name, spec in (layout or posters.DEFAULT_LAYOUTS[kind]).items():
        if name not in posters.KIND_SLOTS[kind]:
            continue
        for key, value in spec.items():
            if key == "shown":
                if value:
                    data[f"{name}-shown"] = "y"
            else:
                data[f"{name}-{key}"] = str(value)
    return data


def post_template(
    client: FlaskClient,
    kind: PosterKind = PosterKind.PRODUCT,
    background: bytes | None = None,
    path: str | None = None,
    **changes: Any,
):
    path = path or f"/admin/posters/new?kind={kind.value}"
    data = fields(kind, **changes)
    data["csrf_token"] = csrf_token(client, path)
    if background is not None:
        data["background"] = (io.BytesIO(background), "background.png")
    return client.post(path, data=data, content_type="multipart/form-data")


def templates(app: Flask) -> list[PosterTemplate]:
    with app.app_context():
        rows = list(db.session.scalars(select(PosterTemplate).order_by(PosterTemplate.id)))
        db.session.expunge_all()
        return rows


# --- ops: templates ----------------------------------------------------------------------


def test_template_crud_with_versions_and_audit(portal: Flask, make_user) -> None:
    ops = staff_client(portal, make_user)
    assert ops.get("/admin/posters").status_code == 200
    assert ops.get("/admin/posters/new?kind=product").status_code == 200
    response = post_template(ops, background=png_bytes((1080, 1920), BACKGROUND))
    assert response.status_code == 302, response.get_data(as_text=True)
    [template] = templates(portal)
    assert (template.kind, template.width, template.height) == (PosterKind.PRODUCT, 1080, 1920)
    assert template.version == 1 and template.active
    assert template.layout["qr"] == posters.DEFAULT_LAYOUTS[PosterKind.PRODUCT]["qr"]

    path = f"/admin/posters/{template.id}"
    page = ops.get(path).get_data(as_text=True)
    assert 'value="Autumn tea"' in page and 'name="qr-size"' in page
    moved = {**posters.DEFAULT_LAYOUTS[PosterKind.PRODUCT]}
    moved["qr"] = {"x": 100, "y": 1500, "size": 360, "shown": True}
    response = post_template(ops, path=path, layout=moved, name="Autumn tea, taller QR")
    assert response.status_code == 302
    [template] = templates(portal)
    assert template.version == 2 and template.layout["qr"]["y"] == 1500
    assert template.name == "Autumn tea, taller QR" and template.width == 1080  # kept

    token = csrf_token(ops, path)
    asked = ops.post(f"{path}/delete", data={"csrf_token": token})
    assert asked.status_code == 200 and "Delete the template" in asked.get_data(as_text=True)
    assert len(templates(portal)) == 1
    done = ops.post(f"{path}/delete", data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302 and templates(portal) == []
    with portal.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == [
        "poster_template.create",
        "poster_template.update",
        "poster_template.delete",
    ]


@pytest.mark.parametrize(
    ("background", "message"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\0" * 1024, "Upload a PNG, JPEG or WebP image."),
        (png_bytes() + PADDING, "larger than 5 MB"),
        (png_bytes((300, 300)), "400 to 4000 pixels"),
        (None, "needs a background picture"),
    ],
    ids=["executable", "oversized", "too-small", "missing"],
)
def test_a_bad_background_is_a_field_error(
    portal: Flask, make_user, background: bytes | None, message: str
) -> None:
    ops = staff_client(portal, make_user)
    response = post_template(ops, background=background)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert templates(portal) == []


def test_an_element_off_the_picture_or_too_small_is_refused(portal: Flask, make_user) -> None:
    ops = staff_client(portal, make_user)
    off = {**posters.DEFAULT_LAYOUTS[PosterKind.PRODUCT]}
    off["qr"] = {"x": 900, "y": 1300, "size": 300, "shown": True}
    response = post_template(ops, background=png_bytes((1080, 1440)), layout=off)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Goes off the 1080 × 1440 picture" in html and 'id="qr-x-error"' in html
    tiny = {**posters.DEFAULT_LAYOUTS[PosterKind.PRODUCT]}
    tiny["qr"] = {"x": 10, "y": 10, "size": 100, "shown": True}
    response = post_template(ops, background=png_bytes((1080, 1440)), layout=tiny)
    assert response.status_code == 422 and "Too small" in response.get_data(as_text=True)
    bad = post_template(ops, background=png_bytes((1080, 1440)), **{"name": ""})
    assert bad.status_code == 422
    data = fields(PosterKind.PRODUCT)
    data.update({"price-colour": "red", "price-size": "-3", "title-x": "left"})
    data["csrf_token"] = csrf_token(ops, "/admin/posters/new")
    data["background"] = (io.BytesIO(png_bytes((1080, 1440))), "b.png")
    response = ops.post("/admin/posters/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert templates(portal) == []


def test_staff_only(portal: Flask, make_user, make_distributor) -> None:
    client, _ = distributor_client(portal, make_distributor, "wu@shop.example")
    for path in ("/admin/posters", "/admin/posters/new", "/admin/posters/logo"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/me/links")
    assert client.post("/admin/posters/preview", data={"csrf_token": token}).status_code == 403
    assert portal.test_client().get("/admin/posters").status_code == 302  # to sign in
    for role in (Role.ADMIN, Role.OPS):
        assert staff_client(portal, make_user, role).get("/admin/posters").status_code == 200


def test_preview_renders_the_unsaved_form(portal: Flask, make_user) -> None:
    ops = staff_client(portal, make_user)
    data = fields(PosterKind.PRODUCT)
    data["csrf_token"] = csrf_token(ops, "/admin/posters/new")
    data["background"] = (io.BytesIO(png_bytes((1080, 1920), BACKGROUND)), "b.png")
    response = ops.post(
        "/admin/posters/preview?kind=product",
        data=data,
        content_type="multipart/form-data",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<figure id="poster-preview"')
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert encoded
    image = Image.open(io.BytesIO(base64.b64decode(encoded.group(1)))).convert("RGB")
    assert image.size == (540, 960)  # half of the background
    assert image.getpixel((530, 950)) == BACKGROUND
    assert templates(portal) == []  # nothing saved

    data["csrf_token"] = csrf_token(ops, "/admin/posters/new")
    data["qr-x"] = "5000"
    data.pop("background")
    refused = ops.post("/admin/posters/preview?kind=product", data=data)
    assert refused.status_code == 200 and 'src="data:' not in refused.get_data(as_text=True)
    full = ops.post("/admin/posters/preview?kind=product", data=data)  # no HX-Request
    assert "<html" in full.get_data(as_text=True)


def test_brand_is_saved_as_audited_settings_and_on_share_cards(
    portal: Flask, make_user, make_distributor
) -> None:
    ops = staff_client(portal, make_user)
    token = csrf_token(ops, "/admin/posters")
    response = ops.post(
        "/admin/posters/brand",
        data={"csrf_token": token, "shop_name": "茶社", "logo": (io.BytesIO(b"MZ" * 99), "l.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Upload a PNG, JPEG or WebP image." in response.get_data(as_text=True)
    logo = png_bytes((200, 200), (37, 99, 235))
    response = ops.post(
        "/admin/posters/brand",
        data={"csrf_token": token, "shop_name": "西湖茶社", "logo": (io.BytesIO(logo), "l.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with portal.app_context():
        assert settings.get("shop_name") == "西湖茶社"
        assert settings.get("shop_logo").endswith(".png")
        audited = set(db.session.scalars(select(AuditEntry.target_id)))
    assert {"shop_name", "shop_logo"} <= audited
    assert ops.get("/admin/posters/logo").mimetype == "image/png"

    # The share card carries them: the logo at the foot of the QR column.
    client, code = distributor_client(portal, make_distributor, "wu@shop.example")
    card = client.get("/me/links/p/93/card.png")
    assert decode(card.data) == [f"{BASE}/r/{code}/p/93"]
    picture = Image.open(io.BytesIO(card.data)).convert("RGB")
    assert picture.getpixel((476, 1344)) == (37, 99, 235)

    token = csrf_token(ops, "/admin/posters")
    ops.post(
        "/admin/posters/brand", data={"csrf_token": token, "shop_name": "", "remove_logo": "y"}
    )
    with portal.app_context():
        assert settings.get("shop_logo") == "" and settings.get("shop_name") == ""


# --- distributors: their posters ---------------------------------------------------------


def test_default_product_poster_inline_with_the_long_press_hint(
    portal: Flask, make_distributor
) -> None:
    client, code = distributor_client(portal, make_distributor, "wu@shop.example")
    page = client.get("/me/posters/p/93", headers={"User-Agent": WECHAT})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Long-press the picture to save it" in html
    assert 'src="/me/posters/p/93/poster.png"' in html
    assert "Download poster" not in html  # WeChat cannot download
    assert "Download poster" in client.get("/me/posters/p/93").get_data(as_text=True)

    png = client.get("/me/posters/p/93/poster.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Content-Disposition"].startswith("inline")
    assert Image.open(io.BytesIO(png.data)).size == posters.DEFAULT_SIZE
    assert decode(png.data) == [f"{BASE}/r/{code}/p/93"]
    download = client.get("/me/posters/p/93/poster.png?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/me/posters/p/404").status_code == 404
    assert client.get("/me/posters/p/404/poster.png").status_code == 404


def test_template_poster_is_the_template_size_and_kept(
    portal: Flask, make_user, make_distributor
) -> None:
    ops = staff_client(portal, make_user)
    layout = {**posters.DEFAULT_LAYOUTS[PosterKind.PRODUCT]}
    layout["qr"] = {"x": 700, "y": 1500, "size": 320, "shown": True}
    layout["earn"] = {**layout["earn"], "shown": True}
    background = png_bytes((1080, 1920), BACKGROUND)
    assert post_template(ops, background=background, layout=layout).status_code == 302
    [template] = templates(portal)

    client, code = distributor_client(portal, make_distributor, "wu@shop.example")
    with ImageServer() as images, portal.app_context():
        product = db.session.scalar(select(Product))
        product.image_url = f"{images.url}/tea.png"
        db.session.commit()
        first = client.get("/me/posters/p/93/poster.png")
    image = Image.open(io.BytesIO(first.data)).convert("RGB")
    assert image.size == (1080, 1920)
    assert decode(first.data) == [f"{BASE}/r/{code}/p/93"]
    assert image.getpixel((5, 1900)) == BACKGROUND
    red, green, _blue = image.getpixel((540, 490))  # the picture's box centre
    assert abs(green - PICTURE_COLOUR[1]) < 8 and red < 60

    kept = list((Path(portal.config["PORTAL_UPLOAD_PATH"]) / "posters").rglob("*.png"))
    assert [p.parts[-4] for p in kept] == [f"t{template.id}-v1"]
    # The image server is gone: a second request is served from the kept file.
    assert client.get("/me/posters/p/93/poster.png").data == first.data

    layout["qr"] = {"x": 60, "y": 1500, "size": 320, "shown": True}
    path = f"/admin/posters/{template.id}"
    assert post_template(ops, path=path, layout=layout).status_code == 302
    kept = list((Path(portal.config["PORTAL_UPLOAD_PATH"]) / "posters").rglob("*.png"))
    assert kept == []  # the old version's posters are gone
    assert decode(client.get("/me/posters/p/93/poster.png").data) == [f"{BASE}/r/{code}/p/93"]


def test_invite_poster_uses_the_invite_link(portal: Flask, make_distributor) -> None:
    client, code = distributor_client(portal, make_distributor, "wu@shop.example")
    page = client.get("/me/posters/invite").get_data(as_text=True)
    assert 'src="/me/posters/invite.png"' in page and "Long-press" in page
    png = client.get("/me/posters/invite.png")
    assert decode(png.data) == [f"{BASE}/join/{code}"]
    links = client.get("/me/links").get_data(as_text=True)
    assert 'href="/me/posters/invite"' in links and 'href="/me/posters/p/93"' in links


def test_a_distributor_never_reaches_another_distributors_poster(
    portal: Flask, make_distributor
) -> None:
    wu, wu_code = distributor_client(portal, make_distributor, "wu@shop.example", "Wu")
    lin, lin_code = distributor_client(portal, make_distributor, "lin@shop.example", "Lin")
    assert decode(wu.get("/me/posters/p/93/poster.png").data) == [f"{BASE}/r/{wu_code}/p/93"]
    assert decode(lin.get("/me/posters/p/93/poster.png").data) == [f"{BASE}/r/{lin_code}/p/93"]
    assert decode(lin.get("/me/posters/invite.png").data) == [f"{BASE}/join/{lin_code}"]
    # No address names a distributor; a code or id in the query changes nothing.
    other = lin.get(f"/me/posters/p/93/poster.png?code={wu_code}&distributor=1")
    assert decode(other.data) == [f"{BASE}/r/{lin_code}/p/93"]
    assert portal.test_client().get("/me/posters/p/93/poster.png").status_code == 302


def test_inactive_templates_and_inactive_distributors(
    portal: Flask, make_user, make_distributor
) -> None:
    ops = staff_client(portal, make_user)
    post_template(ops, background=png_bytes((1080, 1440)), active="")
    [template] = templates(portal)
    client, _ = distributor_client(portal, make_distributor, "wu@shop.example")
    assert client.get(f"/me/posters/p/93?template={template.id}").status_code == 404
    assert client.get(f"/me/posters/invite.png?template={template.id}").status_code == 404
    assert client.get("/me/posters/p/93").status_code == 200  # the built-in design

    from portal.distributors.models import DistributorStatus

    make_distributor("sus@shop.example", DistributorStatus.SUSPENDED)
    suspended = portal.test_client()
    assert login(suspended, "sus@shop.example").status_code == 302
    for path in ("/me/posters/p/93", "/me/posters/p/93/poster.png", "/me/posters/invite.png"):
        assert suspended.get(path).status_code == 403, path
