"""Creators (#20 item 4): a vanity code chosen once, sub-ids per post or channel carried
from the click to the order (``?sub=`` → ``utm_content`` / ``_portal_sub``), short links to
any page of the shop, and the statistics split by sub-id and by referring site — on SQLite
and PostgreSQL, the order side through a real recorded WooCommerce delivery."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal as D
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugins.woocommerce_bridge import mapping
from plugins.woocommerce_bridge.signatures import sign
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.links import services
from portal.links.models import Click, DeepLink
from portal.orders.models import Order
from portal.timeutil import utcnow
from tests import recordings
from tests.helpers import SHOP, csrf_token, login
from tests.woo import SECRET

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def creator(store: Flask, make_distributor) -> tuple[FlaskClient, int, str]:
    distributor_id, code = make_distributor("amy@shop.example", name="Amy")
    client = store.test_client()
    assert login(client, "amy@shop.example").status_code == 302
    return client, distributor_id, code


def choose(client: FlaskClient, code: str) -> Any:
    token = csrf_token(client, "/me/links/creator")
    return client.post("/me/links/creator/code", data={"vanity_code": code, "csrf_token": token})


def follow(client: FlaskClient, path: str, **headers: str) -> Any:
    return client.get(path, headers={"User-Agent": PHONE, **headers})


def query(response: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


# --- vanity codes --------------------------------------------------------------------


def test_a_vanity_code_is_chosen_once_and_links_read_it(creator, store: Flask) -> None:
    client, distributor_id, code = creator
    answer = choose(client, " amyBeauty ")
    assert answer.status_code == 302
    page = client.get("/me/links").get_data(as_text=True)
    assert "https://partners.example/r/AMYBEAUTY" in page
    # The shop still hears of the issued code: its plugin and coupons know only those.
    for path in ("/r/AMYBEAUTY", "/r/amybeauty", f"/r/{code}"):
        moved = follow(store.test_client(), path)
        assert moved.status_code == 302, path
        assert query(moved)["ref"] == code and query(moved)["utm_campaign"] == code
    assert store.test_client().get("/join/AMYBEAUTY").status_code == 200
    again = choose(client, "AMYSHOP")
    assert again.status_code == 400
    assert "already chosen" in again.get_data(as_text=True)
    with store.app_context():
        assert db.session.get(Distributor, distributor_id).vanity_code == "AMYBEAUTY"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ADMIN", "reserved"),
        ("ab", "4 to 16 letters and digits"),
        ("amy beauty", "4 to 16 letters and digits"),
        ("amy-beauty", "4 to 16 letters and digits"),
        ("AMY\x00X", "control character"),
        ("X" * 17, "16"),
    ],
)
def test_a_bad_vanity_code_is_a_field_error(
    creator, store: Flask, typed: str, message: str
) -> None:
    client, distributor_id, _ = creator
    answer = choose(client, typed)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    with store.app_context():
        assert db.session.get(Distributor, distributor_id).vanity_code is None


def test_a_code_someone_has_is_taken(creator, store: Flask, make_distributor) -> None:
    client, _, _ = creator
    other_id, other_code = make_distributor("bo@shop.example")
    assert "is taken" in choose(client, other_code).get_data(as_text=True)
    with store.app_context():
        db.session.get(Distributor, other_id).vanity_code = "BOVLOG"
        db.session.commit()
    assert "is taken" in choose(client, "bovlog").get_data(as_text=True)


def test_a_suspended_distributor_has_no_creator_tools(store: Flask, make_distributor) -> None:
    make_distributor("sus@shop.example", status=DistributorStatus.SUSPENDED)
    client = store.test_client()
    login(client, "sus@shop.example")
    assert client.get("/me/links/creator").status_code == 403


# --- sub-ids -------------------------------------------------------------------------


def test_a_sub_id_is_counted_with_the_click_and_sent_to_the_shop(creator, store: Flask) -> None:
    _, distributor_id, code = creator
    moved = follow(
        store.test_client(), f"/r/{code}?sub=douyin-0312", Referer="https://www.douyin.com/v/1"
    )
    sent = query(moved)
    assert sent["utm_content"] == "douyin-0312" and sent["portal_sub"] == "douyin-0312"
    bad = follow(store.test_client(), f"/r/{code}?sub=not%20a%20sub")
    assert bad.status_code == 302 and "portal_sub" not in query(bad)
    bot = store.test_client().get(f"/r/{code}?sub=wechat", headers={"User-Agent": "TelegramBot"})
    assert query(bot)["portal_sub"] == "wechat"  # previews are redirected, never counted
    with store.app_context():
        clicks = db.session.execute(
            select(Click.sub_id, Click.referrer_host).where(Click.distributor_id == distributor_id)
        ).all()
    assert sorted(clicks, key=str) == sorted(
        [("douyin-0312", "www.douyin.com"), (None, None)], key=str
    )


# --- links to any page of the shop --------------------------------------------------


def make_link(client: FlaskClient, url: str) -> Any:
    token = csrf_token(client, "/me/links/creator")
    return client.post("/me/links/creator/deep", data={"url": url, "csrf_token": token})


def test_a_pasted_shop_address_becomes_a_short_link(
    creator, store: Flask, make_distributor
) -> None:
    client, distributor_id, code = creator
    page = f"{SHOP}/product-category/tea/?orderby=price"
    assert make_link(client, page).status_code == 302
    assert make_link(client, page).status_code == 302  # the same link again, not a second
    with store.app_context():
        links = db.session.scalars(
            select(DeepLink).where(DeepLink.distributor_id == distributor_id)
        ).all()
    assert len(links) == 1
    slug = links[0].slug
    assert f"https://partners.example/r/{code}/l/{slug}" in client.get(
        "/me/links/creator"
    ).get_data(as_text=True)
    moved = follow(store.test_client(), f"/r/{code}/l/{slug}?sub=xhs")
    target = urlsplit(moved.headers["Location"])
    assert (target.netloc, target.path) == ("shop.example", "/product-category/tea/")
    assert query(moved)["orderby"] == "price" and query(moved)["ref"] == code
    assert query(moved)["portal_sub"] == "xhs"
    # Another distributor's code with this slug is no link at all.
    _, other = make_distributor("bo@shop.example")
    assert follow(store.test_client(), f"/r/{other}/l/{slug}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/product-category/tea/",
        "javascript:alert(1)",
        "shop.example/x",
        f"{SHOP}:8443/x",
    ],
)
def test_only_pages_of_the_shop_become_links(creator, store: Flask, url: str) -> None:
    client, _, _ = creator
    answer = make_link(client, url)
    assert answer.status_code == 400
    assert "a page of the shop" in answer.get_data(as_text=True)
    with store.app_context():
        assert db.session.scalar(select(DeepLink.id)) is None


# --- the order side: a real recorded delivery ----------------------------------------


def recorded_utm_order(**meta: str) -> recordings.Delivery:
    """The recorded order placed after ``utm_source=portal&utm_campaign=Q4YPCT``, with
    some of its meta values changed as the shop would have written them."""
    delivery = recordings.deliveries("utm-order-attribution")[0]
    payload = copy.deepcopy(delivery.payload())
    for item in payload["meta_data"]:
        if item["key"] in meta:
            item["value"] = meta.pop(item["key"])
    payload["meta_data"] += [
        {"id": 9000 + n, "key": k, "value": v} for n, (k, v) in enumerate(meta.items())
    ]
    return recordings.Delivery(
        delivery.seq, delivery.scenario, delivery.headers, json.dumps(payload).encode(), 200
    )


def test_the_recorded_attribution_meta_carries_sub_and_site() -> None:
    payload = recorded_utm_order(
        _wc_order_attribution_utm_content="douyin-0312",
        _wc_order_attribution_referrer="https://www.douyin.com/video/7",
    ).payload()
    referral = mapping.referral(payload)
    assert (referral.sub_id, referral.referrer_host) == ("douyin-0312", "www.douyin.com")
    # The companion plugin's _portal_sub wins over utm_content; a bad one is dropped.
    plugin = recorded_utm_order(
        _wc_order_attribution_utm_content="x", _portal_sub="xhs-1"
    ).payload()
    assert mapping.referral(plugin).sub_id == "xhs-1"
    broken = recorded_utm_order(_wc_order_attribution_utm_content="a b<script>").payload()
    assert mapping.referral(broken).sub_id is None
    # The recording as it was: no sub-id, no referrer.
    plain = recordings.deliveries("utm-order-attribution")[0].payload()
    assert (mapping.referral(plain).sub_id, mapping.referral(plain).referrer_host) == (None, None)


def deliver(client: FlaskClient, delivery: recordings.Delivery) -> None:
    headers = dict(delivery.headers)
    headers["X-WC-Webhook-Signature"] = sign(SECRET, delivery.body)
    assert (
        client.post("/woocommerce/webhook", data=delivery.body, headers=headers).status_code == 200
    )


def test_the_statistics_split_by_sub_id_and_site(shop: Flask, make_distributor) -> None:
    distributor_id, _ = make_distributor("upline@shop.example")
    snoop_id, snoop_code = make_distributor("snoop@shop.example")
    with shop.app_context():
        db.session.get(Distributor, distributor_id).code = recordings.UPLINE
        db.session.commit()
    webhook = shop.test_client()
    deliver(
        webhook,
        recorded_utm_order(
            _wc_order_attribution_utm_content="douyin-0312",
            _wc_order_attribution_referrer="https://www.douyin.com/video/7",
        ),
    )
    with shop.app_context():
        order = db.session.scalar(select(Order).where(Order.shop_order_id == "16"))
        assert (order.distributor_id, order.attribution_method) == (distributor_id, "utm")
        assert (order.sub_id, order.referrer_host) == ("douyin-0312", "www.douyin.com")
        # the recorded order is later refunded in full; here it is still paid, as sent first
        assert order.status == "processing" and order.net_total > 0
        recent = utcnow() - timedelta(days=1)
        order.created_at_shop = recent
        db.session.add_all(
            [
                Click(
                    distributor_id=distributor_id,
                    visitor_hash="a",
                    sub_id="douyin-0312",
                    referrer_host="www.douyin.com",
                ),
                Click(
                    distributor_id=distributor_id,
                    visitor_hash="b",
                    sub_id="douyin-0312",
                    referrer_host="www.douyin.com",
                ),
                Click(distributor_id=distributor_id, visitor_hash="c", sub_id=None),
                Click(distributor_id=snoop_id, visitor_hash="d", sub_id="snoop-only"),
            ]
        )
        db.session.commit()
        sales = order.net_total
    client = shop.test_client()
    login(client, "upline@shop.example")
    page = client.get("/me/links/creator").get_data(as_text=True)
    assert "douyin-0312" in page and "www.douyin.com" in page
    assert "snoop-only" not in page
    stats = client.get("/me/links/creator?days=7", headers={"HX-Request": "true"})
    body = stats.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="creator-stats"') and "<html" not in body
    with shop.app_context():
        from portal.links import stats as link_stats
        from portal.periods import last_days

        split = link_stats.by_sub(distributor_id, last_days(30, utcnow()))
    rows = {row.key: row for row in split.rows}
    assert (rows["douyin-0312"].clicks, rows["douyin-0312"].orders) == (2, 1)
    assert rows["douyin-0312"].sales == sales
    assert rows["douyin-0312"].commission == (sales * D("0.10")).quantize(D("0.01"))
    assert (rows[None].clicks, rows[None].orders) == (1, 0)
    assert "snoop-only" not in rows
    other = shop.test_client()
    login(other, "snoop@shop.example")
    theirs = other.get("/me/links/creator").get_data(as_text=True)
    assert "www.douyin.com" not in theirs and "snoop-only" in theirs
    assert snoop_code not in page


def test_a_sub_id_belongs_only_to_an_order_its_link_credited(shop: Flask, make_distributor) -> None:
    """A coupon beats the link: the coupon owner's order does not take the link's sub-id."""
    upline, _ = make_distributor("upline@shop.example")
    seller, _ = make_distributor("seller@shop.example")
    with shop.app_context():
        db.session.get(Distributor, upline).code = recordings.UPLINE
        db.session.get(Distributor, seller).code = recordings.SELLER
        db.session.commit()
    delivery = recorded_utm_order(_wc_order_attribution_utm_content="douyin-0312")
    payload = delivery.payload()
    payload["coupon_lines"] = [
        {
            "id": 77,
            "code": recordings.SELLER.lower(),
            "discount": "0.00",
            "discount_tax": "0.00",
            "meta_data": [],
        }
    ]
    deliver(
        shop.test_client(),
        recordings.Delivery(
            delivery.seq, delivery.scenario, delivery.headers, json.dumps(payload).encode(), 200
        ),
    )
    with shop.app_context():
        order = db.session.scalar(select(Order).where(Order.shop_order_id == "16"))
        assert (order.distributor_id, order.attribution_method) == (seller, "coupon")
        assert order.sub_id is None


def test_the_page_renders_without_htmx_and_is_the_distributors_own(creator) -> None:
    client, _, _ = creator
    page = client.get("/me/links/creator")
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    assert services.SUB_RE.fullmatch("douyin-0312")
