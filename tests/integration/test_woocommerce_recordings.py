"""Every delivery a real WooCommerce 10.0.2 shop sent (``shared/woocommerce-10.0.2``),
replayed in its recorded order and re-signed with the test's secret, ends in the state
worked out by hand below — through the webhook drained in-process, through a real
``portal worker``, and through REST reconciliation alone. The loopback shop serves the
shop's recorded REST answers (refund splits) and the orders' final copies.

The hand-worked figures (plan: 10 % to the seller, 5 % to its upline; goods are line
totals after discounts, without tax or shipping):

* 14, block checkout after ``/?ref=WQZRDY``: 2 × 20.00; one mug refunded with its tax
  (22.00 = 20.00 + 2.00, the split only in ``refunds-14.json``) → goods 20.00 → 2.00 + 1.00.
* 18, the same buyer over REST (bound to WQZRDY by order 14): 2 × 45.50 = 91.00 of a
  100.10 total; a 5.50 refund without lines → 5.50 × 91.00 / 100.10 = 5.00 of goods →
  86.00 → 8.60 + 4.30.
* 163: processing → completed → on-hold → completed, the last two in one second → stays
  completed: 20.00 → 2.00 + 1.00.
* 158, a checkout draft: not an order, never stored.
* 17, the personal coupon ``wqzrdy`` (lower case), trashed and restored → processing:
  35.07 → 3.51 (3.507) + 1.75 (1.7535).
* 16, utm campaign Q4YPCT (the upline, who has no upline itself), fully refunded → 0.
* 27, classic checkout by cheque → on-hold: 45.50 → 4.55 + 2.28 (2.275).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.commissions.models import Commission
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders.models import Order
from tests import recordings
from tests.helpers import burst_worker, login, worker_env
from tests.woo import API_SECRET, KEY, SECRET, FakeShop, ShopServer, deliver, rest_keys

HELD = "holding/available"  # completed orders: available once the return window passed
EXPECTED: dict[str, Any] = {
    "14": ("completed", D("20.00"), "ref_meta", {"2": D("20.00")}, ["lines"]),
    "16": ("refunded", D("0.00"), "utm", {"5": D("0")}, ["proportional"]),
    "17": ("processing", D("35.07"), "coupon", {"8": D("0")}, []),
    "18": ("processing", D("86.00"), "binding", {"11": D("0")}, ["proportional"]),
    "27": ("on-hold", D("45.50"), "ref_meta", {"24": D("0")}, []),
    "163": ("completed", D("20.00"), "ref_meta", {"304": D("0")}, []),
}
EARNED = {
    ("14", recordings.SELLER, 1, HELD, D("2.00")),
    ("14", recordings.UPLINE, 2, HELD, D("1.00")),
    ("16", recordings.UPLINE, 1, "reversed", D("0.00")),
    ("17", recordings.SELLER, 1, "pending", D("3.51")),
    ("17", recordings.UPLINE, 2, "pending", D("1.75")),
    ("18", recordings.SELLER, 1, "pending", D("8.60")),
    ("18", recordings.UPLINE, 2, "pending", D("4.30")),
    ("27", recordings.SELLER, 1, "pending", D("4.55")),
    ("27", recordings.UPLINE, 2, "pending", D("2.28")),
    ("163", recordings.SELLER, 1, HELD, D("2.00")),
    ("163", recordings.UPLINE, 2, HELD, D("1.00")),
}


@pytest.fixture
def programme(shop: Flask, make_distributor) -> Flask:
    """The recording run's two distributors, with their codes."""
    upline, _ = make_distributor("upline@shop.example")
    seller, _ = make_distributor("seller@shop.example", parent_id=upline)
    with shop.app_context():
        db.session.get(Distributor, upline).code = recordings.UPLINE
        db.session.get(Distributor, seller).code = recordings.SELLER
        db.session.commit()
    return shop


@pytest.fixture(params=[True, False], ids=["refunds-endpoint", "per-order-refunds"])
def fake(request: pytest.FixtureRequest) -> FakeShop:
    """The shop after the recording: its orders' final copies, the abandoned draft
    (``status=any`` lists drafts too) and its refund answers — served by ``GET /refunds``
    (WooCommerce 9.0+) or, as before 9.0, only per order."""
    orders = recordings.final_copies()
    for draft in recordings.load("orders-checkout-draft.json"):
        orders[draft["id"]] = draft
    return FakeShop(orders=orders, refunds=recordings.refunds(), refunds_endpoint=request.param)


@pytest.fixture
def connected(programme: Flask, fake: FakeShop) -> Iterator[tuple[Flask, str]]:
    with ShopServer(fake) as server, rest_keys(programme, server.url):
        yield programme, server.url


def snapshot(app: Flask) -> tuple[dict[str, Any], set[tuple[Any, ...]]]:
    with app.app_context():
        stored = {
            o.shop_order_id: (
                o.status,
                o.net_total.quantize(D("0.01")),
                o.attribution_method,
                {line.shop_line_id: line.refunded_total for line in o.lines},
                [note["rule"] for note in o.refund_notes or []],
            )
            for o in db.session.scalars(select(Order))
        }
        codes = dict(db.session.execute(select(Distributor.id, Distributor.code)).all())
        earned = {
            (
                c.order.shop_order_id,
                codes[c.beneficiary_id],
                c.depth,
                HELD if c.state.value in ("holding", "available") else c.state.value,
                c.amount.quantize(D("0.01")),
            )
            for c in db.session.scalars(select(Commission))
        }
        assert ledger.verify() == []
    return stored, earned


def replay(client: Any) -> None:
    for delivery in recordings.deliveries():
        answer = recordings.post(client, delivery)
        assert answer.status_code == delivery.answered, (delivery.seq, answer.get_json())


def test_the_deliveries_replay_to_the_hand_worked_state(connected, fake: FakeShop) -> None:
    app, _ = connected
    replay(app.test_client())  # no Redis: each delivery is drained as it arrives
    assert snapshot(app) == (EXPECTED, EARNED)
    reads = [r for r in fake.requests if "/refunds" in r]
    if fake.refunds_endpoint:  # one request each time an order shows a new refund
        assert reads == [
            f"GET /wp-json/wc/v3/refunds?include={n}&per_page=100" for n in (19, 20, 21)
        ]
    else:  # the route is missing: each order's own refunds
        assert [r for r in reads if "/orders/" in r] == [
            f"GET /wp-json/wc/v3/orders/{n}/refunds?" for n in (14, 16, 18)
        ]
    # The loopback shop agrees with the recordings: reconciling changes nothing.
    result = app.test_cli_runner().invoke(args=["woo", "sync", "--full"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("6 order(s), 0 changed"), result.output
    assert snapshot(app) == (EXPECTED, EARNED)


def test_reconciling_alone_reaches_the_same_state(connected) -> None:
    app, _ = connected
    result = app.test_cli_runner().invoke(args=["woo", "sync", "--full"])
    assert result.exit_code == 0, result.output
    # 17 as the shop lists it now (restored); the draft is skipped.
    assert snapshot(app) == (EXPECTED, EARNED)


@pytest.mark.slow
def test_a_real_worker_drains_the_recorded_deliveries(
    connected, app_config, redis_url: str, instance_path: str
) -> None:
    app, url = connected
    queued = create_app({**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": SECRET})
    replay(queued.test_client())
    with app.app_context():
        assert db.session.scalar(select(Order.id)) is None  # stored and queued only
    env = worker_env(app_config, redis_url, instance_path)
    env.update(
        WOO_WEBHOOK_SECRET=SECRET,
        WOO_STORE_URL=url,
        WOO_CONSUMER_KEY=KEY,
        WOO_CONSUMER_SECRET=API_SECRET,
    )
    result = burst_worker(env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert snapshot(app) == (EXPECTED, EARNED)


def test_without_rest_keys_a_refund_is_estimated_from_the_order(programme: Flask) -> None:
    """The refund's split cannot be read: its goods share follows the order's own
    proportion (22.00 × 40.00 / 49.50 = 17.78), never the whole 22.00."""
    client = programme.test_client()
    for delivery in recordings.deliveries("partial-refund-with-tax"):
        assert recordings.post(client, delivery).status_code == 200
    stored, earned = snapshot(programme)
    assert stored["14"] == ("completed", D("22.22"), "ref_meta", {"2": D("0")}, ["estimated"])
    assert {(e[1], e[4]) for e in earned} == {
        (recordings.SELLER, D("2.22")),
        (recordings.UPLINE, D("1.11")),
    }


def test_a_draft_that_becomes_an_order_earns_from_then_on(programme: Flask) -> None:
    client = programme.test_client()
    (draft,) = recordings.deliveries("checkout-draft")
    assert recordings.post(client, draft).status_code == 200
    with programme.app_context():
        assert db.session.scalar(select(Order.id)) is None  # a draft is not an order
    placed = draft.payload() | {
        "status": "processing",
        "date_modified_gmt": "2026-12-02T04:51:02",
        "billing": {**draft.payload()["billing"], "email": "lee@buyer.example.com"},
    }
    assert deliver(client, "order.updated", placed, delivery="placed").status_code == 200
    _, earned = snapshot(programme)
    assert earned == {
        ("158", recordings.SELLER, 1, "pending", D("4.55")),
        ("158", recordings.UPLINE, 2, "pending", D("2.28")),
    }


def test_the_order_page_says_how_each_refund_counted(connected, make_user) -> None:
    app, _ = connected
    client = app.test_client()
    for delivery in recordings.deliveries("partial-refund-with-tax", "shipping-only-refund"):
        recordings.post(client, delivery)
    login(client, "seller@shop.example")
    with app.app_context():
        ids = dict(db.session.execute(select(Order.shop_order_id, Order.id)).all())
    page = client.get(f"/me/orders/{ids['14']}").text
    assert "Refund of $22.00: $20.00 of goods taken back" in page
    assert "own lines (tax and shipping not counted)" in page
    page = client.get(f"/me/orders/{ids['18']}").text
    assert "Refund of $5.50: $5.00 of goods taken back" in page
    assert "the refund had no lines" in page


# --- the shop's settings and webhooks (the loopback shop must answer in their shape) --


def _same_shape(made: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert set(made) == set(recorded)
    for key, value in recorded.items():
        assert type(made[key]) is type(value), key


def test_the_loopback_shop_answers_settings_and_webhooks_in_the_recordings_shape(
    app: Flask,
) -> None:
    from plugins.woocommerce_bridge.client import WooClient

    settings = {s["id"]: s for s in recordings.load("settings-general.json")}
    hooks = {h["topic"]: h for h in recordings.load("webhooks.json")}
    fake = FakeShop()
    with ShopServer(fake) as server:
        api = WooClient(server.url, KEY, API_SECRET)
        general = api.json("GET", "/settings/general")
        assert {"woocommerce_currency", "woocommerce_default_country"} <= {s["id"] for s in general}
        for item in general:
            _same_shape(item, settings[item["id"]])
        for topic, recorded in hooks.items():
            body = {"topic": topic, "delivery_url": recorded["delivery_url"], "secret": "s"}
            made = api.json("POST", "/webhooks", json=body)
            assert made.pop("secret") == "s"  # the "edit" context of a create answer
            _same_shape(made, recorded)
            assert (made["resource"], made["event"], made["hooks"]) == (
                recorded["resource"],
                recorded["event"],
                recorded["hooks"],
            )
        for listed in api.json("GET", "/webhooks"):
            assert "secret" not in listed
            _same_shape(listed, hooks[listed["topic"]])
        api.close()


@pytest.mark.parametrize(
    ("answer", "disabled"),
    [("webhooks.json", []), ("webhooks-after-outage.json", ["order.updated"])],
)
def test_the_recorded_webhook_lists_show_their_health(
    app: Flask, admin_client, answer: str, disabled: list[str]
) -> None:
    from plugins.woocommerce_bridge import health, sync
    from portal import storefront

    fake = FakeShop(
        recorded={
            "/settings/general": recordings.load("settings-general.json"),
            "/webhooks": recordings.load(answer),
        }
    )
    keys = ("WOO_STORE_URL", "WOO_CONSUMER_KEY", "WOO_CONSUMER_SECRET", "PORTAL_BASE_URL")
    saved = {k: app.config[k] for k in keys}
    with ShopServer(fake) as server:
        # The recording's portal listened at 127.0.0.1:5301.
        app.config.update(
            WOO_STORE_URL=server.url,
            WOO_CONSUMER_KEY=KEY,
            WOO_CONSUMER_SECRET=API_SECRET,
            PORTAL_BASE_URL="http://127.0.0.1:5301",
        )
        try:
            with app.app_context():
                sync.reconcile()
                found = health.report()
                assert [h.topic for h in found.hooks] == list(health.TOPICS)
                assert [h.topic for h in found.not_active] == disabled
                assert found.missing == []
                assert storefront.current().currency == "USD"
            page = admin_client.get("/admin/shop").get_data(as_text=True)
            assert page.count(">disabled<") == len(disabled)
            assert ("keeps its failure count" in page) is bool(disabled)
        finally:
            app.config.update(saved)
