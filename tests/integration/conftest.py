"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.accounts.models import Role
from tests import factories
from tests.helpers import SHOP
from tests.money import earn
from tests.woo import SECRET


@pytest.fixture
def shop(app: Flask) -> Iterator[Flask]:
    app.config["WOO_WEBHOOK_SECRET"] = SECRET
    with app.app_context():
        factories.add_plan("10", "5")
    yield app
    app.config["WOO_WEBHOOK_SECRET"] = ""


@pytest.fixture
def plan(app: Flask) -> None:
    """Affiliates earn 10 % of their orders (one level)."""
    with app.app_context():
        factories.add_plan("10")


@pytest.fixture
def ops(make_user) -> int:
    return make_user("ops@shop.example", Role.OPS)


@pytest.fixture
def seller(app: Flask, plan, make_distributor) -> int:
    """An active distributor with 50.00 available and a PayPal account."""
    distributor_id, _ = make_distributor("seller@shop.example")
    earn(app, distributor_id, "50.00", "1001")
    return distributor_id


@pytest.fixture
def store(app: Flask) -> Iterator[Flask]:
    """The shop is configured (and the portal has a public address) for these tests."""
    saved = {key: app.config[key] for key in ("WOO_STORE_URL", "PORTAL_BASE_URL")}
    app.config.update(WOO_STORE_URL=SHOP + "/", PORTAL_BASE_URL="https://partners.example")
    yield app
    app.config.update(saved)
