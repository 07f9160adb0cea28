"""Pure pieces of connecting the shop: where WordPress delivers, the shop's offset."""

from __future__ import annotations

import pytest

from plugins.woocommerce_bridge.client import BASIC, OAUTH1, WooRefused, auth_method
from plugins.woocommerce_bridge.connection import delivery_warning
from portal.storefront import Storefront, offset_minutes


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://partners.example.com/woocommerce/webhook", None),
        ("http://partners.example.com:8080/woocommerce/webhook", None),
        ("http://localhost/woocommerce/webhook", "loopback or private"),
        ("http://127.0.0.1:5301/woocommerce/webhook", "loopback or private"),
        ("https://192.168.1.20/woocommerce/webhook", "loopback or private"),
        ("https://10.0.0.5/woocommerce/webhook", "loopback or private"),
        ("https://[::1]/woocommerce/webhook", "loopback or private"),
        ("https://partners.example.com:5000/woocommerce/webhook", "port 5000"),
    ],
)
def test_addresses_wordpress_will_not_deliver_to(url: str, refused: str | None) -> None:
    warning = delivery_warning(url)
    assert (warning is None) if refused is None else (refused in warning)


def test_the_shops_offset_from_its_zone_or_its_gmt_offset() -> None:
    assert offset_minutes("Asia/Shanghai") == 480
    assert offset_minutes("", "5.5") == 330
    assert offset_minutes("", -3) == -180
    assert offset_minutes("Not/AZone", "2") == 120
    assert offset_minutes("", "") is None and offset_minutes("", "eight") is None
    assert Storefront(utc_offset_minutes=-210).utc_offset == "-03:30"
    assert Storefront().utc_offset == ""


def test_the_keys_go_as_basic_over_https_and_signed_over_http() -> None:
    assert auth_method("https://shop.example") == BASIC
    assert auth_method("http://shop.example") == OAUTH1
    refused = WooRefused(OAUTH1, "Invalid timestamp.", 401)
    assert str(refused) == (
        "the shop refused the key and secret signed with OAuth 1.0a over plain HTTP: "
        "Invalid timestamp."
    )
