"""One definition of a qualifying order (``portal.risk.qualifying``) for campaigns, level
upgrades, the dashboard's figures and the reports: paid, not held or refused by risk,
worth something after refunds. Each kind of order is played once; every reader must
count the same four."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import select

from portal.campaigns import progress
from portal.campaigns.models import CampaignMetric
from portal.centre import figures
from portal.commissions import services as commissions
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor, Level
from portal.extensions import db
from portal.levels.upgrades import upgrade_levels
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.periods import last_days
from portal.reports import services as reports
from portal.risk.models import FlagStatus, RiskFlag
from portal.timeutil import utcnow

NOW = utcnow()
# shop order id: (status, goods, refunded, risk flag) — and whether it qualifies
KINDS = {
    "1": ("processing", "100.00", "0", None),  # qualifies
    "2": ("completed", "50.00", "0", None),  # qualifies
    "3": ("pending", "40.00", "0", None),  # unpaid
    "4": ("on-hold", "30.00", "0", None),  # awaiting payment
    "5": ("cancelled", "20.00", "0", None),  # void
    "6": ("refunded", "60.00", "60.00", None),  # refunded in full
    "7": ("processing", "80.00", "30.00", None),  # qualifies with its 50.00 net
    "8": ("processing", "70.00", "0", FlagStatus.OPEN),  # on review
    "9": ("processing", "90.00", "0", FlagStatus.REJECTED),  # refused in review
    "10": ("processing", "25.00", "0", FlagStatus.RELEASED),  # released: qualifies
}
QUALIFYING = (D("225.00"), 4)  # 100 + 50 + 50 + 25
ATTRIBUTED = (D("455.00"), 8)  # every order that is not void


@pytest.fixture
def seller(app: Flask, plan, make_distributor) -> int:
    distributor_id, _ = make_distributor("seller@shop.example")
    with app.app_context():
        for n, (shop_order_id, (status, goods, refunded, flag)) in enumerate(KINDS.items()):
            at = NOW - timedelta(hours=n + 1)
            stored = orders.store_order(
                OrderData(
                    shop_order_id=shop_order_id,
                    status=status,
                    currency="USD",
                    created_at=at,
                    modified_at=at,
                    customer_email="buyer@example.com",
                    lines=(LineData("1", "P1", 1, D(goods), refunded_total=D(refunded)),),
                    attribution=Attribution(distributor_id, "coupon", {"matched": "X"}),
                )
            )
            if flag is not None:
                db.session.add(
                    RiskFlag(
                        order_id=stored.order_id,
                        distributor_id=distributor_id,
                        rule="large_order",
                        evidence={},
                        status=flag,
                    )
                )
            commissions.apply_orders([stored.order_id], at)
        states = {
            c.order_id: c.state for c in db.session.scalars(select(Commission))
        }  # the risk rules did what the flags say
        assert CommissionState.ON_REVIEW in states.values()
        assert CommissionState.REVERSED in states.values()
    return distributor_id


def test_campaigns_count_qualifying_orders_only(app: Flask, seller: int) -> None:
    with app.app_context():
        start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
        assert progress.metric_values(CampaignMetric.SALES, start, end) == {seller: QUALIFYING[0]}
        assert progress.metric_values(CampaignMetric.ORDERS, start, end) == {
            seller: D(QUALIFYING[1])
        }
        # One buyer, whose first qualifying order is in the period.
        assert progress.metric_values(CampaignMetric.NEW_CUSTOMERS, start, end) == {seller: D(1)}


def test_the_dashboard_figures_count_qualifying_orders(app: Flask, seller: int) -> None:
    with app.app_context():
        counted = figures.period_figures(seller, last_days(7, NOW))
    assert (counted.sales, counted.orders) == QUALIFYING


def test_reports_show_all_attributed_and_qualifying_side_by_side(app: Flask, seller: int) -> None:
    with app.app_context():
        kpis = reports.report(last_days(7, NOW)).kpis
    assert (kpis.gmv, kpis.orders) == ATTRIBUTED
    assert (kpis.qualifying_gmv, kpis.qualifying_orders) == QUALIFYING


@pytest.mark.parametrize(("needed", "promoted"), [("225.00", 1), ("225.01", 0)])
def test_level_upgrades_count_qualifying_orders_only(
    app: Flask, seller: int, needed: str, promoted: int
) -> None:
    with app.app_context():
        db.session.add(Level(name="Gold", rank=1, min_personal_sales=D(needed), window_days=7))
        db.session.commit()
        assert upgrade_levels(NOW) == promoted
        assert (db.session.get(Distributor, seller).level_id is not None) is bool(promoted)
