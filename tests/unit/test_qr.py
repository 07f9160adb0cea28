"""QR codes and share cards: every image is decoded back, as a phone camera would."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from portal.links import cards, qr
from tests.images import PICTURE_COLOUR, ImageServer, closed_port_url

LINK = "https://partners.example/r/ABC234/p/93"


def decode(data: bytes | Image.Image) -> list[str]:
    image = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data))
    return [result.text for result in zxingcpp.read_barcodes(image)]


def card(**changes: object) -> cards.Card:
    fields = {
        "name": "Longjing green tea, spring harvest, 250 g tin",
        "price": "$19.99",
        "image_url": None,
        "link": LINK,
        "scan_hint": "Scan to shop",
        "shared_by": "Shared by Group Leader Wu",
    }
    return cards.Card(**{**fields, **changes})


@pytest.mark.parametrize(
    "url", ["https://partners.example/r/ABC234", LINK, "https://p.example/join/ABC234?x=1&y=2"]
)
def test_png_is_print_sized_and_decodes_to_the_url(url: str) -> None:
    data = qr.png(url)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.width >= 1000 and image.width == image.height
    assert decode(image) == [url]
    # The quiet zone (4 modules) is white all around.
    grey = image.convert("L")
    assert (
        grey.getpixel((0, 0)) == 255 and grey.getpixel((image.width - 1, image.height - 1)) == 255
    )


def test_png_fits_a_maximum_width() -> None:
    image = Image.open(io.BytesIO(qr.png(LINK, max_width=340)))
    assert image.width <= 340
    assert decode(image) == [LINK]


def test_svg_is_an_accessible_image() -> None:
    markup = str(qr.svg(LINK, 'QR code for "your" <shop> link'))
    assert markup.startswith(
        '<svg role="img" aria-label="QR code for &#34;your&#34; &lt;shop&gt; link"'
    )
    assert "<title>QR code for" in markup and "&lt;shop&gt;" in markup
    assert "<shop>" not in markup
    assert 'class="qr"' in markup and "viewBox" in markup
    assert "style=" not in markup and "<script" not in markup  # CSP-safe


def test_card_has_picture_name_price_and_a_qr_for_the_product_link() -> None:
    with ImageServer() as shop:
        picture = cards.fetch_image(f"{shop.url}/tea.png")
    assert picture is not None
    image = Image.open(io.BytesIO(cards.render(card(), image=picture)))
    assert image.size == (cards.WIDTH, cards.HEIGHT)
    assert decode(image) == [LINK]
    rgb = image.convert("RGB")
    assert rgb.getpixel((cards.WIDTH // 2, cards.IMAGE_HEIGHT // 2)) == PICTURE_COLOUR


def test_card_without_picture_still_renders() -> None:
    image = Image.open(io.BytesIO(cards.render(card(image_url=closed_port_url()), image=None)))
    assert image.size == (cards.WIDTH, cards.HEIGHT)
    assert decode(image) == [LINK]
    assert PICTURE_COLOUR not in {colour for _, colour in image.convert("RGB").getcolors(1 << 16)}


def test_card_with_a_chinese_name_and_no_price() -> None:
    name = "西湖龙井绿茶 明前特级 二百五十克 礼盒装 送礼佳品 杭州原产 " * 3
    data = cards.render(
        card(name=name, price=None, shared_by="分享自 吴团长", scan_hint="扫码购买")
    )
    assert decode(data) == [LINK]


def test_card_uses_the_configured_font_and_survives_a_broken_one(tmp_path) -> None:
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    assert cards.find_font(str(broken)) == (str(broken), 0)
    assert decode(cards.render(card(), font_path=str(broken))) == [LINK]
    assert cards.find_font(str(tmp_path / "missing.ttf")) != (str(tmp_path / "missing.ttf"), 0)


def test_long_names_wrap_within_the_width_with_an_ellipsis() -> None:
    font = cards._font(cards.find_font(), 54)
    latin = cards._wrap("word " * 60, font, 500, max_lines=2)
    chinese = cards._wrap("龙井" * 80, font, 500, max_lines=3)
    assert len(latin) == 2 and latin[-1].endswith("…")
    assert all(not line.startswith(" ") for line in latin)
    assert len(chinese) == 3 and chinese[-1].endswith("…")
    assert all(font.getlength(line) <= 500 for line in latin + chinese)
    assert cards._wrap("Tea", font, 500, max_lines=2) == ["Tea"]


@pytest.mark.parametrize(
    "path", ["/tea.png", "/tea.jpg", "/moved.png"], ids=["png", "jpeg", "redirect"]
)
def test_fetch_image_accepts_real_images(path: str) -> None:
    with ImageServer() as shop:
        image = cards.fetch_image(shop.url + path)
    assert image is not None
    assert image.convert("RGB").getpixel((5, 5))[1] > 150  # green


@pytest.mark.parametrize(
    "path", ["/huge.png", "/huge-chunked.png", "/not-an-image.png", "/missing.png"]
)
def test_fetch_image_refuses_big_broken_and_missing_files(path: str) -> None:
    with ImageServer() as shop:
        assert cards.fetch_image(shop.url + path) is None


@pytest.mark.parametrize("url", [None, "", "file:///etc/passwd", "ftp://127.0.0.1/x.png", "data:,"])
def test_fetch_image_only_speaks_http(url: str | None) -> None:
    assert cards.fetch_image(url) is None


def test_fetch_image_of_an_unreachable_host() -> None:
    assert cards.fetch_image(closed_port_url()) is None
