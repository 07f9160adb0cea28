"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask

from portal.commissions.models import CommissionPlan
from portal.extensions import db
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
