"""Reports: KPIs against a recomputation, top distributors, levels, CSV, no N+1."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D

from babel.numbers import format_currency
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.commissions.models import Commission, CommissionState
from portal.commissions.reassign import reassign
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.links.models import Click
from portal.orders.models import VOID_STATUSES, Order
from portal.periods import Period
from portal.reports import services as reports
from portal.risk.models import RiskFlag
from portal.risk.qualifying import PAID_STATUSES
from portal.timeutil import utcnow
from tests import factories
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
    version: int = 0,
) -> None:
    """Store (or, with a later ``version``, update) an order and run its commissions."""
    at = NOW - timedelta(days=days_ago)
    data = factories.order(
        seller,
        shop_order_id,
        total,
        at=at,
        status=status,
        refunded=refunded,
        modified_at=at + timedelta(minutes=version),
        completed_at=None,  # the report reads the status, not when it completed
    )
    with app.app_context():
        factories.book(data)


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
        seller, _ = make_distributor(f"s{n}@shop.example", name=f"S{n}")
        sell(app, seller, str(n), "10.00", days_ago=n * 20)
    assert queries() == few
    with app.app_context():
        levels = [Level(name=f"L{n}", rank=n) for n in range(4)]
        db.session.add_all(levels)
        db.session.flush()
        for n, distributor in enumerate(db.session.scalars(select(Distributor))):
            distributor.level_id = levels[n % 4].id
        db.session.commit()
    assert queries() == few
    year = f"from={(DAY - timedelta(days=365)).isoformat()}&to={DAY.isoformat()}"
    assert queries_for(app, ops, f"/admin/reports?{year}") == few
    export = ops.get(f"/admin/reports/distributors.csv?{year}").get_data(as_text=True)
    assert len(export.splitlines()) == 1 + 12


def direct(period: Period) -> tuple[reports.Report, list[reports.ExportRow]]:
    """The reports recomputed the slow way: every row loaded and summed in Python."""
    start, end = period.start, period.end
    people = db.session.scalars(select(Distributor)).all()
    level_of = {d.id: d.level_id for d in people}
    sold = [
        o
        for o in db.session.scalars(select(Order))
        if o.distributor_id and start <= o.created_at_shop < end and o.status not in VOID_STATUSES
    ]
    earned = [
        c for c in db.session.scalars(select(Commission)) if start <= c.order_created_at < end
    ]
    kept = [c for c in earned if c.state != CommissionState.REVERSED]
    by_state = {
        s.value: sum((c.amount for c in earned if c.state == s), D(0)) for s in CommissionState
    }
    active = [d for d in people if d.status == DistributorStatus.ACTIVE]
    held = {f.order_id for f in db.session.scalars(select(RiskFlag)) if f.status != "released"}
    held |= {c.order_id for c in earned if c.state == CommissionState.ON_REVIEW}
    counted = [
        o for o in sold if o.status in PAID_STATUSES and o.net_total > 0 and o.id not in held
    ]
    kpis = reports.Kpis(
        sum((o.net_total for o in sold), D(0)),
        len(sold),
        sum((o.net_total for o in counted), D(0)),
        len(counted),
        sum(1 for c in db.session.scalars(select(Click)) if start <= c.created_at < end),
        by_state,
        len(active),
        sum(1 for d in people if d.joined_at and start <= d.joined_at < end),
    )
    days = []
    day = period.first_day
    while day < end.date():
        days.append(
            reports.Day(
                day,
                sum((o.net_total for o in sold if o.created_at_shop.date() == day), D(0)),
                sum((c.amount for c in kept if c.order_created_at.date() == day), D(0)),
            )
        )
        day += timedelta(days=1)
    sellers = {o.distributor_id for o in sold}

    def sales(ids: set[int]) -> D:
        return sum((o.net_total for o in sold if o.distributor_id in ids), D(0))

    def commission(ids: set[int]) -> D:
        return sum((c.amount for c in kept if c.beneficiary_id in ids), D(0))

    ranking = sorted(sellers, key=lambda i: (-sales({i}), i))
    by_id = {d.id: d for d in people}
    top = [
        reports.Ranked(
            by_id[i], sum(1 for o in sold if o.distributor_id == i), sales({i}), commission({i})
        )
        for i in ranking[:10]
    ]
    levels = []
    for level_id, name in [
        (None, ""),
        *((lv.id, lv.name) for lv in db.session.scalars(select(Level).order_by(Level.rank))),
    ]:
        members = {d.id for d in people if d.level_id == level_id}
        row = reports.LevelRow(
            name,
            sum(1 for d in active if d.level_id == level_id),
            sales(members),
            commission(members),
        )
        if level_id is not None or row.distributors or row.sales:
            levels.append(row)
    export = [
        reports.ExportRow(
            by_id[r.distributor.id].code,
            by_id[r.distributor.id].display_name,
            by_id[r.distributor.id].level.name if level_of[r.distributor.id] else None,
            r.orders,
            r.sales,
            r.commission,
        )
        for r in (
            reports.Ranked(
                by_id[i], sum(1 for o in sold if o.distributor_id == i), sales({i}), commission({i})
            )
            for i in ranking
        )
    ]
    return reports.Report(kpis, days, top, levels), export


def test_report_equals_a_direct_computation(app: Flask, plan, make_user, make_distributor) -> None:
    """Refunds, cancellations, reversals, a re-assigned order, commission states, levels
    (the largest level's figures are the range's total minus the others'), clicks and
    recruits in and out of the range: every figure equals the slow recomputation."""
    top, mid, low = factories.chain(
        make_distributor,
        "top@shop.example",
        "mid@shop.example",
        "low@shop.example",
        names=("Top", "Mid", "Low"),
    )
    solo, solo_code = make_distributor("solo@shop.example", name="Solo")
    gone, _ = make_distributor("gone@shop.example", name="Gone")
    ops_id = make_user("ops@shop.example", Role.OPS)
    sell(app, low, "1", "100.00")
    sell(app, low, "2", "80.00", days_ago=2)
    sell(app, low, "2", "80.00", days_ago=2, refunded="30.00", version=1)  # partly refunded
    sell(app, mid, "3", "60.00", days_ago=5)
    sell(app, mid, "3", "60.00", status="refunded", days_ago=5, version=1)  # reversed
    sell(app, solo, "4", "45.50", status="completed", days_ago=1)
    sell(app, solo, "5", "12.25", status="cancelled")
    sell(app, top, "6", "300.00", days_ago=20)
    sell(app, gone, "7", "25.00", days_ago=3)
    sell(app, low, "8", "70.00", days_ago=6)
    with app.app_context():
        moved = db.session.scalar(select(Order.id).where(Order.shop_order_id == "8"))
        reassign(moved, solo_code, "sold by solo", db.session.get(User, ops_id))
        # States the engine reaches over weeks (maturing, payouts, review), set directly.
        changed = db.session.scalars(
            select(Commission)
            .where(Commission.state == CommissionState.PENDING)
            .order_by(Commission.id)
            .limit(4)
        )
        states = (
            CommissionState.HOLDING,
            CommissionState.AVAILABLE,
            CommissionState.PAID,
            CommissionState.ON_REVIEW,
        )
        for commission, state in zip(changed, states, strict=True):
            commission.state = state
        db.session.get(Distributor, gone).status = DistributorStatus.SUSPENDED
        db.session.get(Distributor, solo).joined_at = NOW - timedelta(days=40)
        at = [NOW - timedelta(days=n, hours=1) for n in (0, 0, 3, 6, 7, 30)]
        db.session.add_all(
            Click(distributor_id=low, visitor_hash=str(n), created_at=t) for n, t in enumerate(at)
        )
        db.session.commit()

    def check(days: int) -> reports.Report:
        period = Period(
            datetime.combine(DAY - timedelta(days=days - 1), time(), UTC),
            datetime.combine(DAY + timedelta(days=1), time(), UTC),
        )
        with app.test_request_context():
            report = reports.report(period)
            expected, export = direct(period)
            assert report == expected
            assert list(reports.export_rows(period)) == export
        return report

    for days in (1, 7):
        check(days)
    month = check(30)
    amounts = month.kpis.commissions
    assert all(amounts[state] for state in amounts if state != "reversed")
    with app.app_context():  # a reversal keeps its row at zero
        assert db.session.scalar(select(Commission.id).where(Commission.state == "reversed"))
    assert month.kpis.orders == 6 and len(month.top) == 4 and month.kpis.clicks == 5
    with app.app_context():
        gold, silver = Level(name="Gold", rank=2), Level(name="Silver", rank=1)
        db.session.add_all([gold, silver])
        db.session.flush()
        for distributor_id, level in ((top, gold), (mid, gold), (low, silver), (gone, silver)):
            db.session.get(Distributor, distributor_id).level_id = level.id
        db.session.commit()
    check(7)
    month = check(30)  # Gold (most members) is the remainder; Silver and no level are read
    assert [(row.name, row.distributors) for row in month.levels] == [
        ("", 1),
        ("Silver", 1),
        ("Gold", 2),
    ]
    assert all(row.sales for row in month.levels)
    with app.app_context():
        silver_id = db.session.scalar(select(Level.id).where(Level.name == "Silver"))
        for distributor_id in (solo, top):
            db.session.get(Distributor, distributor_id).level_id = silver_id
        db.session.commit()
    check(30)  # now Silver is the remainder
