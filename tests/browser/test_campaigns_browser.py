"""A distributor follows a campaign on a phone: the progress bar refreshes itself (htmx)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from portal.campaigns import services
from portal.campaigns.models import CampaignMetric
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.timeutil import utcnow
from tests.helpers import PASSWORD


def sell(app: Flask, distributor_id: int, n: int) -> None:
    at = utcnow() - timedelta(minutes=5)
    with app.app_context():
        orders.store_order(
            OrderData(
                shop_order_id=str(8000 + n),
                status="processing",
                currency="USD",
                created_at=at,
                modified_at=at,
                lines=(LineData("1", "P1", 1, D("40.00")),),
                customer_email=f"buyer{n}@example.com",
                attribution=Attribution(distributor_id, "coupon", {"coupon": "X"}),
            )
        )


def test_progress_bar_on_a_phone_refreshes_itself(
    page: Page, live_server: str, app: Flask, make_distributor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PORTAL_CAMPAIGN_REFRESH_SECONDS", 1)
    seller, _ = make_distributor("seller@shop.example", name="Seller Lin")
    now = utcnow()
    with app.app_context():
        campaign = services.create(
            services.CampaignData(
                name="Orders sprint",
                description="Three orders earn a bonus.",
                metric=CampaignMetric.ORDERS,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=1),
                eligible_roles=[],
                eligible_level_ids=[],
                tiers=[(D(3), D(50))],
                prizes=[],
            ),
            None,
        )
        bar_id = f"#campaign-{campaign.id}-bar"
    sell(app, seller, 1)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("seller@shop.example")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/me/campaigns")
    page.evaluate("window.__noReload = true")
    bar = page.locator(bar_id)
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("value", "1.0000")
    expect(page.get_by_label("1 of 3 — next bonus at 3")).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

    sell(app, seller, 2)
    sell(app, seller, 3)
    expect(page.locator(bar_id)).to_have_attribute("value", "3.0000", timeout=10_000)
    expect(page.get_by_text("every tier reached")).to_be_visible()
    assert page.evaluate("window.__noReload") is True  # swapped in place, no reload
