"""Short links, clicks, QR codes, share cards and the distributor's Links & QR page —
on SQLite and PostgreSQL, with every QR decoded back to its URL."""

from __future__ import annotations

import hashlib
import hmac
import io
from urllib.parse import parse_qsl, urlsplit

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import event, select, text

from portal.catalogue.models import Product
from portal.distributors.models import DistributorStatus, PersonalCoupon
from portal.extensions import db
from portal.links import services
from portal.links.models import Click
from tests.helpers import SHOP, TEST_SECRET, login
from tests.images import PICTURE_COLOUR, ImageServer, closed_port_url

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
IP = "203.0.113.77"


def add_products(app: Flask, *products: dict) -> None:
    with app.app_context():
        for fields in products:
            db.session.add(Product(**{"category_ids": [], **fields}))
        db.session.commit()


def tea(**changes: object) -> dict:
    return {
        "product_id": "93",
        "name": "Longjing green tea",
        "price": "19.90",
        "permalink": f"{SHOP}/product/longjing/?attribute_pa_size=250g",
        **changes,
    }


def clicks(app: Flask) -> list[Click]:
    with app.app_context():
        rows = list(db.session.scalars(select(Click).order_by(Click.id)))
        db.session.expunge_all()
        return rows


def follow(client: FlaskClient, path: str, agent: str = PHONE, referrer: str | None = None):
    headers = {"User-Agent": agent}
    if referrer:
        headers["Referer"] = referrer
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": IP})


def utm(code: str) -> list[tuple[str, str]]:
    return [
        ("utm_source", "portal"),
        ("utm_medium", "distributor"),
        ("utm_campaign", code),
        ("ref", code),
    ]


def decode(data: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]


def signed_in(app: Flask, make_distributor, status=DistributorStatus.ACTIVE, **kw):
    distributor_id, code = make_distributor("wu@shop.example", status, **kw)
    client = app.test_client()
    assert login(client, "wu@shop.example").status_code == 302
    return client, distributor_id, code


# --- the redirect ------------------------------------------------------------------------


def test_shop_link_redirects_with_utm_and_counts_a_hashed_click(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, code = make_distributor("wu@shop.example")
    response = follow(
        client, f"/r/{code.lower()}", referrer="https://m.facebook.com/groups/tea?post=1&u=secret"
    )
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/")
    assert parse_qsl(target.query) == utm(code)

    [click] = clicks(store)
    assert click.distributor_id == distributor_id and click.product_id is None
    assert click.referrer_host == "m.facebook.com"
    expected = hmac.new(TEST_SECRET.encode(), f"{IP}\n{PHONE}".encode(), hashlib.sha256).hexdigest()
    assert click.visitor_hash == expected
    assert click.created_at is not None
    with store.app_context():
        row = db.session.execute(select(Click.__table__)).one()._asdict()
    stored = " ".join(str(value) for value in row.values())
    for raw in (IP, PHONE, "iPhone", "Safari", "groups/tea", "secret"):
        assert raw not in stored


def test_product_link_goes_to_the_product_page_and_counts_the_product(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, code = make_distributor("wu@shop.example")
    add_products(store, tea())
    response = follow(client, f"/r/{code}/p/93")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.netloc, target.path) == ("shop.example", "/product/longjing/")
    assert parse_qsl(target.query) == [("attribute_pa_size", "250g"), *utm(code)]
    [click] = clicks(store)
    assert (click.distributor_id, click.product_id, click.referrer_host) == (
        distributor_id,
        "93",
        None,
    )


@pytest.mark.parametrize(
    "permalink", ["https://evil.example/product/longjing/", "http://shop.example.evil.example/"]
)
def test_off_host_permalink_stays_on_the_shop(
    store: Flask, client: FlaskClient, make_distributor, permalink: str
) -> None:
    _, code = make_distributor("wu@shop.example")
    add_products(store, tea(permalink=permalink))
    response = follow(client, f"/r/{code}/p/93")
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/")
    assert parse_qsl(target.query) == utm(code)
    assert clicks(store)[0].product_id == "93"


def test_unknown_product_goes_to_the_shop_home(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, code = make_distributor("wu@shop.example")
    for product in ("404", "x" * 200):
        response = follow(client, f"/r/{code}/p/{product}")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/"
    assert [(c.distributor_id, c.product_id) for c in clicks(store)] == [(distributor_id, None)] * 2


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
    ],
)
def test_bots_are_redirected_but_not_counted(
    store: Flask, client: FlaskClient, make_distributor, agent: str
) -> None:
    _, code = make_distributor("wu@shop.example")
    response = follow(client, f"/r/{code}", agent=agent)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc == "shop.example"
    assert clicks(store) == []


@pytest.mark.parametrize(
    "status", [DistributorStatus.SUSPENDED, DistributorStatus.APPLIED, DistributorStatus.REJECTED]
)
def test_links_of_inactive_distributors_are_a_friendly_404(
    store: Flask, client: FlaskClient, make_distributor, status: DistributorStatus
) -> None:
    _, code = make_distributor("wu@shop.example", status)
    for path in (f"/r/{code}", f"/r/{code}/p/93"):
        response = follow(client, path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "This link does not work any more" in page
        assert f'href="{SHOP}/"' in page  # the shop itself is one tap away
    assert clicks(store) == []


@pytest.mark.parametrize("code", ["ZZZZZZ", "no", "0OIL1234", "ABCDEFGHJ"])
def test_unknown_codes_are_a_friendly_404(store: Flask, client: FlaskClient, code: str) -> None:
    response = follow(client, f"/r/{code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "This link does not work any more" in response.get_data(as_text=True)


def test_a_control_character_in_the_code_is_a_plain_404(store: Flask, client: FlaskClient) -> None:
    """It matches no route at all (portal.inputs), so no view looks it up."""
    assert client.get("/r/%00").status_code == 404
    assert client.get("/r/%00/p/1").status_code == 404


def test_without_a_shop_url_links_answer_503(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    _, code = make_distributor("wu@shop.example")
    assert app.config["WOO_STORE_URL"] == ""
    response = follow(client, f"/r/{code}")
    assert response.status_code == 503
    assert "The shop is not available right now" in response.get_data(as_text=True)
    assert clicks(app) == []


def test_redirect_is_one_select_and_one_insert(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    _, code = make_distributor("wu@shop.example")
    add_products(store, tea())
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0].upper())

    with store.app_context():
        engine = services.click_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        follow(client, f"/r/{code}/p/93")
        person = list(statements)
        statements.clear()
        follow(client, f"/r/{code}/p/93", agent="Twitterbot/1.0")
        bot = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert person == ["SELECT", "INSERT"]
    assert bot == ["SELECT"]


def test_only_clicks_commit_asynchronously(store: Flask) -> None:
    with store.app_context():
        if db.engine.dialect.name != "postgresql":
            assert services.click_engine() is db.engine
            return
        with services.click_engine().connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
        with db.engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


# --- the Links & QR page -------------------------------------------------------------------


def test_links_page_shows_shop_link_invite_and_coupon(store: Flask, make_distributor) -> None:
    client, distributor_id, code = signed_in(store, make_distributor)
    with store.app_context():
        db.session.add(
            PersonalCoupon(
                distributor_id=distributor_id, code="WU-TEA-10", shop_coupon_id="501", percent="10"
            )
        )
        db.session.commit()
    add_products(store, tea())
    response = client.get("/me/links")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'value="https://partners.example/r/{code}"' in page
    assert f'value="https://partners.example/join/{code}"' in page
    assert f'value="https://partners.example/r/{code}/p/93"' in page
    assert 'value="WU-TEA-10"' in page and "10 % off" in page
    assert page.count('<svg role="img" aria-label="QR code for') == 2
    assert 'data-copy="shop-link"' in page and 'aria-live="polite"' in page
    assert 'hx-trigger="input changed delay:300ms, search"' in page
    assert "<script>" not in page and "onclick" not in page


def test_product_search_is_a_fragment_for_htmx_and_a_page_without(
    store: Flask, make_distributor
) -> None:
    client, _, code = signed_in(store, make_distributor)
    add_products(
        store,
        tea(),
        tea(product_id="94", name="Jasmine pearls 100% organic", permalink=None, price=None),
        tea(product_id="95", name="Tea cup", price="8"),
    )
    fragment = client.get("/me/links/products?q=jasmine", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="product-results">')
    assert "Jasmine pearls" in html and "Longjing" not in html
    assert f"https://partners.example/r/{code}/p/94" in html
    assert "1 product matches" in html

    page = client.get("/me/links/products?q=jasmine").get_data(as_text=True)
    assert "<html" in page and "Jasmine pearls" in page and "Your shop link" in page
    assert 'value="jasmine"' in page

    # LIKE wildcards are literal; the shop's product number matches exactly; prices in the
    # shop currency.
    assert "Jasmine" in client.get("/me/links/products?q=100%25").get_data(as_text=True)
    assert "Tea cup" not in client.get("/me/links/products?q=_").get_data(as_text=True)
    by_number = client.get("/me/links/products?q=95").get_data(as_text=True)
    assert "Tea cup" in by_number and "$8.00" in by_number
    empty = client.get("/me/links/products?q=coffee", headers={"HX-Request": "true"})
    assert "No product matches" in empty.get_data(as_text=True)


def test_product_results_are_paginated(store: Flask, make_distributor) -> None:
    client, _, _ = signed_in(store, make_distributor)
    add_products(store, *(tea(product_id=str(n), name=f"Tea {n:02d}") for n in range(1, 31)))
    first = client.get("/me/links/products?q=tea", headers={"HX-Request": "true"})
    html = first.get_data(as_text=True)
    assert "Tea 25" in html and "Tea 26" not in html and "Page 1 of 2" in html
    assert "/me/links/products?page=2&amp;q=tea" in html
    second = client.get("/me/links/products?q=tea&page=2", headers={"HX-Request": "true"})
    html = second.get_data(as_text=True)
    assert "Tea 26" in html and "Tea 30" in html and "Tea 25" not in html


def test_qr_downloads_decode_to_the_short_links(store: Flask, make_distributor) -> None:
    client, _, code = signed_in(store, make_distributor)
    add_products(store, tea())
    for path, url, filename in (
        ("/me/links/qr.png", f"https://partners.example/r/{code}", f"{code}-shop.png"),
        ("/me/links/invite-qr.png", f"https://partners.example/join/{code}", f"{code}-invite.png"),
        ("/me/links/p/93/qr.png", f"https://partners.example/r/{code}/p/93", f"{code}-93.png"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "image/png"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
        assert Image.open(io.BytesIO(response.data)).width >= 1000
        assert decode(response.data) == [url]


def test_short_links_use_the_request_host_without_a_base_url(
    store: Flask, make_distributor
) -> None:
    store.config["PORTAL_BASE_URL"] = ""
    client, _, code = signed_in(store, make_distributor)
    assert decode(client.get("/me/links/qr.png").data) == [f"http://localhost/r/{code}"]


def test_share_card_with_the_shop_image(store: Flask, make_distributor) -> None:
    client, _, code = signed_in(store, make_distributor, name="Group Leader Wu")
    with ImageServer() as images:
        add_products(store, tea(image_url=f"{images.url}/tea.jpg"))
        response = client.get("/me/links/p/93/card.png")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{code}-93-card.png"'
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    assert image.size == (1080, 1440)
    assert decode(response.data) == [f"https://partners.example/r/{code}/p/93"]
    red, green, _ = image.getpixel((540, 360))
    assert abs(green - PICTURE_COLOUR[1]) < 8 and red < 60  # the picture is on the card


@pytest.mark.parametrize(
    "image_url",
    [closed_port_url(), "ftp://shop.example/tea.png", None],
    ids=["unreachable", "not-http", "none"],
)
def test_share_card_without_a_usable_image(
    store: Flask, make_distributor, image_url: str | None
) -> None:
    client, _, code = signed_in(store, make_distributor)
    add_products(store, tea(image_url=image_url, name="西湖龙井 明前特级 礼盒装 " * 4))
    response = client.get("/me/links/p/93/card.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert decode(response.data) == [f"https://partners.example/r/{code}/p/93"]


def test_unknown_product_downloads_are_404(store: Flask, make_distributor) -> None:
    client, _, _ = signed_in(store, make_distributor)
    for path in (
        "/me/links/p/404/qr.png",
        "/me/links/p/404/card.png",
        f"/me/links/p/{'9' * 80}/qr.png",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("status", [DistributorStatus.SUSPENDED, DistributorStatus.APPLIED])
def test_inactive_distributors_read_but_make_no_links(
    store: Flask, make_distributor, status: DistributorStatus
) -> None:
    client, distributor_id, code = signed_in(store, make_distributor, status)
    with store.app_context():
        db.session.add(
            PersonalCoupon(
                distributor_id=distributor_id, code="WU-TEA-10", shop_coupon_id="501", percent="10"
            )
        )
        db.session.commit()
    add_products(store, tea())
    page = client.get("/me/links")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ("paused" in html) is (status is DistributorStatus.SUSPENDED)
    assert f"/r/{code}" not in html and 'aria-label="QR code for' not in html
    assert 'value="WU-TEA-10"' in html  # reading stays possible
    for path in (
        "/me/links/products?q=tea",
        "/me/links/qr.png",
        "/me/links/invite-qr.png",
        "/me/links/p/93/qr.png",
        "/me/links/p/93/card.png",
    ):
        assert client.get(path).status_code == 403, path
