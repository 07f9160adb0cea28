"""Reports: KPIs against a recomputation, top distributors, levels, CSV, no N+1."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal as D

from babel.numbers import format_currency
from flask import Flask

from portal.accounts.models import Role
from portal.commissions import services as commissions
from portal.distributors.models import Distributor, Level
from portal.extensions import db
from portal.links.models import Click
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.timeutil import utcnow
from tests.helpers import queries_for
from tests.money import signed_in

NOW = utcnow()
DAY = NOW.date()


def sell(
    app: Flask,
    seller: int,
    shop_order_id: str,
    total: str,
    status: str = "processing",
    days_ago: int = 0,
    refunded: str = "0",
) -> None:
    at = NOW - timedelta(days=days_ago)
    with app.app_context():
        stored = orders.store_order(
            OrderData(
                shop_order_id=shop_order_id,
                status=status,
                currency="USD",
                created_at=at,
                modified_at=at,
                lines=(LineData("1", "P1", 1, D(total), refunded_total=D(refunded)),),
                attribution=Attribution(seller, "coupon", {"matched": "X"}),
            )
        )
        commissions.apply_order(stored.order_id, at)


def shown(html: str, attribute: str) -> str:
    match = re.search(rf'{attribute}">([^<]*)<', html)
    assert match, attribute
    return match.group(1)


def usd(amount: str) -> str:
    return format_currency(D(amount), "USD", locale="en")


def test_kpis_top_distributors_levels_and_csv(
    app: Flask, plan, make_user, make_distributor
) -> None:
    star, _ = make_distributor("star@shop.example", name="Star")
    other, _ = make_distributor("other@shop.example", name="=Other")
    with app.app_context():
        level = Level(name="Partner", rank=1)
        db.session.add(level)
        db.session.flush()
        db.session.get(Distributor, star).level_id = level.id
        db.session.add_all([Click(distributor_id=star, visitor_hash=str(n)) for n in range(8)])
        db.session.commit()
    sell(app, star, "1", "100.00")
    sell(app, star, "2", "50.00", refunded="20.00")  # counts 30.00
    sell(app, star, "3", "70.00", status="cancelled")  # void: no sales
    sell(app, other, "4", "40.00", days_ago=3)
    sell(app, other, "5", "999.00", days_ago=40)  # outside the range
    make_user("ops@shop.example", Role.OPS)
    ops = signed_in(app, "ops@shop.example")
    first = (DAY - timedelta(days=6)).isoformat()
    page = ops.get(f"/admin/reports?from={first}&to={DAY.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert shown(html, 'data-kpi="gmv') == usd("170.00")
    assert shown(html, 'data-kpi="orders') == "3"
    assert shown(html, 'data-kpi="clicks') == "8"
    assert shown(html, 'data-kpi="conversion') == "37.5 %"
    assert shown(html, 'data-kpi="active') == "2"
    assert shown(html, 'data-commission="pending') == usd("17.00")  # 10 % of 100 + 30 + 40
    assert html.count('<rect class="bar"') == 2 * 7
    top = re.findall(r'<a href="/admin/distributors/\d+">([^<]+)</a>', html)
    assert top == ["Star", "=Other"]
    assert "Partner" in html

    export = ops.get(f"/admin/reports/distributors.csv?from={first}&to={DAY.isoformat()}")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["name"], r["orders"], r["sales"], r["commission"]) for r in rows] == [
        ("Star", "2", "130.00", "13.00"),
        ("'=Other", "1", "40.00", "4.00"),
    ]
    for bad in ("from=x&to=y", "from=2026-02-01&to=2025-01-01", "from=2000-01-01&to=2026-01-01"):
        assert ops.get(f"/admin/reports?{bad}").status_code == 200


def test_reports_cost_the_same_queries_at_any_size(
    app: Flask, plan, make_user, make_distributor
) -> None:
    make_user("ops@shop.example", Role.OPS)
    ops = signed_in(app, "ops@shop.example")

    def queries() -> int:
        return queries_for(app, ops, "/admin/reports")

    seller, _ = make_distributor("s0@shop.example")
    sell(app, seller, "0", "10.00")
    few = queries()
    for n in range(1, 12):
        seller, _ = make_distributor(f"s{n}@shop.example")
        sell(app, seller, str(n), "10.00")
    assert queries() == few
