"""The material library: ops upload and publish, distributors see every text filled with
their own values, copy and download (counted), with their QR code stamped on request."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from portal.catalogue.models import Product
from portal.distributors.models import PersonalCoupon
from portal.extensions import db
from portal.materials import services
from portal.materials.models import Material, MaterialKind
from portal.materials.placeholders import Filler
from portal.notifications.models import Notification, NotificationKind
from portal.timeutil import utcnow
from tests.helpers import csrf_token, login
from tests.images import PADDING, png_bytes

TEMPLATE = (
    "Hi, I'm {name}! Shop here: {link} (code {code}, coupon {coupon}). "
    "Tea: {product_link:93}. Gone: {product_link:404}. Typo: {lnk}. Open: {link"
)


@pytest.fixture
def shop(app: Flask, make_distributor) -> dict[str, tuple[int, str]]:
    """Two distributors (only Wu has a coupon) and a product "93" in the catalogue."""
    wu = make_distributor("wu@shop.example", name="Wu Lan")
    li = make_distributor("li@shop.example", name="Li Ming")
    with app.app_context():
        db.session.add(Product(product_id="93", name="Longjing tea", category_ids=[]))
        db.session.add(
            PersonalCoupon(distributor_id=wu[0], code="WU-10", shop_coupon_id="1", percent="10")
        )
        db.session.commit()
    return {"wu": wu, "li": li}


def _material(app: Flask, **fields: object) -> int:
    values = {
        "kind": MaterialKind.SCRIPT,
        "title": "Group chat opener",
        "body": TEMPLATE,
        "publish_from": utcnow() - timedelta(hours=1),
        **fields,
    }
    with app.app_context():
        material = Material(**values)
        db.session.add(material)
        db.session.commit()
        return material.id


def _signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_placeholders_are_filled_per_distributor_and_unknown_ones_left_visible(
    app: Flask, shop
) -> None:
    from portal.distributors.models import Distributor

    with app.test_request_context(base_url="https://partners.example"), app.app_context():
        wu = Filler(db.session.get(Distributor, shop["wu"][0])).fill(TEMPLATE)
        li = Filler(db.session.get(Distributor, shop["li"][0])).fill(TEMPLATE)
    wu_code, li_code = shop["wu"][1], shop["li"][1]
    assert wu == (
        f"Hi, I'm Wu Lan! Shop here: https://partners.example/r/{wu_code} (code {wu_code}, "
        f"coupon WU-10). Tea: https://partners.example/r/{wu_code}/p/93. "
        "Gone: {product_link:404}. Typo: {lnk}. Open: {link"
    )
    # No coupon yet: the placeholder stays, visibly, instead of an empty gap.
    assert f"I'm Li Ming! Shop here: https://partners.example/r/{li_code} " in li
    assert "coupon {coupon})" in li and f"/r/{li_code}/p/93" in li


def test_library_page_shows_each_distributor_their_own_text(app: Flask, shop) -> None:
    _material(app)
    for who in ("wu", "li"):
        html = _signed_in(app, f"{who}@shop.example").get("/me/materials").get_data(as_text=True)
        code = shop[who][1]
        assert f"/r/{code}/p/93" in html
        other = shop["li" if who == "wu" else "wu"][1]
        assert f"/r/{other}" not in html


def test_tutorial_markdown_never_lets_raw_html_through(app: Flask, shop) -> None:
    _material(
        app,
        kind=MaterialKind.TUTORIAL,
        title="How to post",
        body="# Step 1\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1)) **{code}**",
    )
    html = _signed_in(app, "wu@shop.example").get("/me/materials").get_data(as_text=True)
    assert "<h1>Step 1</h1>" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert f"<strong>{shop['wu'][1]}</strong>" in html


def test_drafts_and_expired_items_do_not_exist_for_distributors(app: Flask, shop) -> None:
    draft = _material(app, title="Draft", publish_from=None)
    expired = _material(app, title="Expired", publish_until=utcnow() - timedelta(minutes=1))
    future = _material(app, title="Future", publish_from=utcnow() + timedelta(days=1))
    client = _signed_in(app, "wu@shop.example")
    html = client.get("/me/materials").get_data(as_text=True)
    assert "No materials match." in html
    token = csrf_token(client, "/me/materials")
    for material_id in (draft, expired, future, 999999):
        url = f"/me/materials/{material_id}/copied"
        assert client.post(url, data={"csrf_token": token}).status_code == 404


def test_filters_and_search(app: Flask, shop) -> None:
    with app.app_context():
        tea = db.session.scalar(select(Product.id).where(Product.product_id == "93"))
    _material(app, title="Tea script", category="Tea", tags="spring,green")
    _material(app, kind=MaterialKind.COPY, title="Coffee caption", body="Coffee! {link}")
    with app.app_context():
        material = db.session.scalar(select(Material).where(Material.title == "Tea script"))
        material.products = [db.session.get(Product, tea)]
        db.session.commit()
    client = _signed_in(app, "wu@shop.example")

    def titles(query: str) -> list[str]:
        response = client.get(f"/me/materials?{query}", headers={"HX-Request": "true"})
        html = response.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="material-results"')  # the fragment only
        return [t for t in ("Tea script", "Coffee caption") if t in html]

    assert titles("") == ["Tea script", "Coffee caption"]
    assert titles("kind=copy") == ["Coffee caption"]
    assert titles("category=Tea") == ["Tea script"]
    assert titles(f"product={tea}") == ["Tea script"]
    assert titles("q=green") == ["Tea script"]  # tags are searched
    assert titles("q=coffee&new=y") == ["Coffee caption"]
    assert titles("q=%25") == []  # LIKE wildcards are literal


def test_copy_is_counted_when_the_button_is_pressed(app: Flask, shop) -> None:
    material_id = _material(app)
    client = _signed_in(app, "wu@shop.example")
    token = csrf_token(client, "/me/materials")
    for _ in range(2):
        response = client.post(f"/me/materials/{material_id}/copied", data={"csrf_token": token})
        assert response.status_code == 204
    assert client.post(f"/me/materials/{material_id}/copied").status_code == 400  # no CSRF
    with app.app_context():
        assert db.session.get(Material, material_id).copy_count == 2


def _upload(admin_client: FlaskClient, data: bytes, name: str, **fields: str):
    token = csrf_token(admin_client, "/admin/materials/new")
    form = {
        "csrf_token": token,
        "kind": "image",
        "title": "Poster",
        "body": "Scan me, {name}",
        "publish_from": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "image": (io.BytesIO(data), name),
        **fields,
    }
    return admin_client.post("/admin/materials/new", data=form, content_type="multipart/form-data")


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Material))


def test_upload_rejects_a_renamed_executable(app: Flask, admin_client) -> None:
    executable = b"\x7fELF\x02\x01\x01" + b"\0" * 1024
    response = _upload(admin_client, executable, "poster.png")
    assert response.status_code == 422
    assert "Upload a PNG, JPEG or WebP image." in response.get_data(as_text=True)
    windows = b"MZ\x90\x00" + b"\0" * 1024
    assert _upload(admin_client, windows, "poster.jpg").status_code == 422
    assert _count(app) == 0


def test_upload_rejects_an_oversized_file(app: Flask, admin_client) -> None:
    response = _upload(admin_client, png_bytes() + PADDING, "big.png")
    assert response.status_code == 422
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_uploaded_image_is_served_with_cache_headers_and_stamped_with_a_qr(
    app: Flask, admin_client, shop
) -> None:
    response = _upload(admin_client, png_bytes((800, 600)), "poster.exe", products="93")
    assert response.status_code == 302
    with app.app_context():
        material = db.session.scalars(select(Material)).one()
        assert material.image_type == "image/png" and material.image_file.endswith(".png")
        assert [p.product_id for p in material.products] == ["93"]
        material_id = material.id

    client = _signed_in(app, "wu@shop.example")
    image = client.get(f"/me/materials/{material_id}/image")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert "private" in image.headers["Cache-Control"]
    assert "max-age=604800" in image.headers["Cache-Control"]
    assert image.headers["X-Content-Type-Options"] == "nosniff" and image.headers["ETag"]
    again = client.get(
        f"/me/materials/{material_id}/image", headers={"If-None-Match": image.headers["ETag"]}
    )
    assert again.status_code == 304

    plain = client.get(f"/me/materials/{material_id}/download")
    assert plain.headers["Content-Disposition"].startswith("attachment")
    stamped = client.get(f"/me/materials/{material_id}/download?qr=1")
    assert stamped.status_code == 200 and stamped.headers["Cache-Control"] == "private, no-store"
    picture = Image.open(io.BytesIO(stamped.data))
    assert picture.size == (800, 600)
    texts = [r.text for r in zxingcpp.read_barcodes(picture)]
    assert len(texts) == 1 and texts[0].endswith(f"/r/{shop['wu'][1]}")
    with app.app_context():
        assert db.session.get(Material, material_id).download_count == 2

    table = admin_client.get("/admin/materials").get_data(as_text=True)
    assert "Poster" in table and "<td>2</td>" in table


def test_image_item_needs_an_image(app: Flask, admin_client) -> None:
    token = csrf_token(admin_client, "/admin/materials/new")
    response = admin_client.post(
        "/admin/materials/new", data={"csrf_token": token, "kind": "image", "title": "No picture"}
    )
    assert response.status_code == 422
    assert "An image item needs an image." in response.get_data(as_text=True)


def test_distributors_cannot_reach_the_admin_pages(app: Flask, shop) -> None:
    client = _signed_in(app, "wu@shop.example")
    assert client.get("/admin/materials").status_code in (403, 404)


def test_published_material_is_announced_once_to_active_distributors(app: Flask, shop) -> None:
    _material(app, title="Autumn poster")
    _material(app, title="Draft", publish_from=None)
    with app.app_context():
        assert services.announce_new_materials() == 1
        assert services.announce_new_materials() == 0
        notes = db.session.scalars(select(Notification).order_by(Notification.distributor_id))
        assert [(n.distributor_id, n.kind, n.params["title"]) for n in notes] == [
            (shop["wu"][0], NotificationKind.NEW_MATERIAL, "Autumn poster"),
            (shop["li"][0], NotificationKind.NEW_MATERIAL, "Autumn poster"),
        ]
