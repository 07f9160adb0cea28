"""Where short links send people, and who counts as a person."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

import pytest

from portal.links import services

SHOP = "https://shop.example"
PARAMS = [
    ("utm_source", "portal"),
    ("utm_medium", "distributor"),
    ("utm_campaign", "ABC234"),
    ("ref", "ABC234"),
]


def test_shop_home_with_all_parameters() -> None:
    url = services.target_url(SHOP, None, "ABC234")
    assert url == "https://shop.example/?utm_source=portal&utm_medium=distributor" + (
        "&utm_campaign=ABC234&ref=ABC234"
    )


def test_shop_url_with_a_path_keeps_it() -> None:
    parts = urlsplit(services.target_url("https://example.com/store/", None, "ABC234"))
    assert (parts.netloc, parts.path) == ("example.com", "/store/")


def test_permalink_on_the_shop_host_keeps_its_query_and_fragment() -> None:
    permalink = (
        "https://SHOP.example/product/tea/?attribute_pa_size=l&utm_source=newsletter#reviews"
    )
    parts = urlsplit(services.target_url(SHOP, permalink, "ABC234"))
    assert (parts.scheme, parts.hostname, parts.path) == ("https", "shop.example", "/product/tea/")
    assert parse_qsl(parts.query) == [("attribute_pa_size", "l"), *PARAMS]
    assert parts.fragment == "reviews"


@pytest.mark.parametrize(
    "permalink",
    [
        "https://evil.example/product/tea/",
        "https://shop.example.evil.example/x",
        "https://shop.example@evil.example/x",
        "https://shop.example:8443/x",
        "javascript:alert(1)",
        "//evil.example/x",
        "/relative/path",
        "https://[::1/x",
        "",
    ],
)
def test_anything_off_the_shop_host_falls_back_to_the_home_page(permalink: str) -> None:
    parts = urlsplit(services.target_url(SHOP, permalink, "ABC234"))
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "shop.example", "/")
    assert parse_qsl(parts.query) == PARAMS


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Mozilla/5.0 (compatible; SomeCrawler/1.0)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "LinkPreview/1.0",
        "",
    ],
)
def test_bots_and_link_previews(agent: str) -> None:
    assert services.is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; V2227A; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/101.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F51) "
        "WeChat/arm64 Weixin NetType/WIFI Language/zh_CN",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ],
)
def test_people_are_not_bots(agent: str) -> None:
    assert not services.is_bot(agent)


def test_visitor_hash_is_keyed_and_reveals_nothing() -> None:
    agent = "Mozilla/5.0 (iPhone)"
    digest = services.visitor_hash("k1", "203.0.113.9", agent)
    expected = hmac.new(b"k1", b"203.0.113.9\n" + agent.encode(), hashlib.sha256).hexdigest()
    assert digest == expected and len(digest) == 64
    assert digest != services.visitor_hash("k2", "203.0.113.9", agent)
    assert digest != hashlib.sha256(b"203.0.113.9\n" + agent.encode()).hexdigest()
    assert "203.0.113.9" not in digest


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://m.facebook.com/story.php?id=1&secret=x", "m.facebook.com"),
        ("http://Example.COM:8080/a", "example.com"),
        ("android-app://com.tencent.mm/", "com.tencent.mm"),
        ("not a url", None),
        ("https://[::1/x", None),
        ("", None),
        (None, None),
    ],
)
def test_referrer_keeps_only_the_host(referrer: str | None, host: str | None) -> None:
    assert services.referrer_host(referrer) == host
