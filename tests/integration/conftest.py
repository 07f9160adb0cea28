"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask

from portal.accounts.models import Role
from portal.commissions.models import CommissionPlan
from portal.extensions import db
from tests.helpers import SHOP
from tests.money import earn
from tests.woo import SECRET


@pytest.fixture
def shop(app: Flask) -> Iterator[Flask]:
    app.config["WOO_WEBHOOK_SECRET"] = SECRET
    with app.app_context():
        db.session.add(
            CommissionPlan(
                role="affiliate",
                max_depth=2,
                rate_depth1=D("10"),
                rate_depth2=D("5"),
                rate_depth3=D("0"),
            )
        )
        db.session.commit()
    yield app
    app.config["WOO_WEBHOOK_SECRET"] = ""


@pytest.fixture
def plan(app: Flask) -> None:
    """Affiliates earn 10 % of their orders (one level)."""
    with app.app_context():
        db.session.add(
            CommissionPlan(role="affiliate", max_depth=1, rate_depth1=D("10"), basis="product")
        )
        db.session.commit()


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
