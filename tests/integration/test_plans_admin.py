"""/admin/plans: editing plans, overrides and levels; preview and backtest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.commissions import services
from portal.commissions.models import CommissionPlan, PlanOverride
from portal.distributors.models import Distributor, Level
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.timeutil import utcnow
from tests.helpers import csrf_token

PLAN = {
    "max_depth": "3",
    "basis": "product",
    "rate_depth1": "10",
    "rate_depth2": "3",
    "rate_depth3": "1",
    "cap_percent": "",
    "network_sale_days": "",
    "exclusions": "GIFT, GIFT2",
}


def plan_post(client, role: str = "affiliate", url_suffix: str = "", **changes: str):
    data = {f"{role}-{k}": v for k, v in {**PLAN, **changes}.items()}
    data["csrf_token"] = csrf_token(client, "/admin/plans")
    return client.post(f"/admin/plans/{role}{url_suffix}", data=data)


def stored_plan(app: Flask, role: str = "affiliate") -> CommissionPlan | None:
    with app.app_context():
        plan = db.session.scalar(select(CommissionPlan).where(CommissionPlan.role == role))
        if plan is not None:
            plan = {
                "rates": (plan.rate_depth1, plan.rate_depth2, plan.rate_depth3),
                "depth": plan.max_depth,
                "exclusions": sorted(x.product_id for x in plan.exclusions),
            }
        return plan


def test_admin_saves_a_plan_with_an_audit_entry(app: Flask, admin_client) -> None:
    response = plan_post(admin_client)
    assert response.status_code == 302
    assert stored_plan(app) == {
        "rates": (D("10"), D("3"), D("1")),
        "depth": 3,
        "exclusions": ["GIFT", "GIFT2"],
    }
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "plan.update")
        ).one()
        assert entry.after["rate_depth1"].startswith("10") and entry.before["max_depth"] == 1


def test_viewing_the_plans_writes_nothing(app: Flask, admin_client) -> None:
    """Reading never writes: the page of roles without a stored plan shows plans earning
    nothing, and stores none (a plan row is stored when it is first saved)."""
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(2):
            response = admin_client.get("/admin/plans")
            assert response.status_code == 200
            assert 'name="affiliate-rate_depth1"' in response.get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert writes == []
    assert stored_plan(app) is None
    assert plan_post(admin_client).status_code == 302  # saving stores it
    assert stored_plan(app) is not None


def test_bad_plan_values_are_field_errors(app: Flask, admin_client) -> None:
    plan_post(admin_client)
    cases = [
        ({"rate_depth1": "120"}, "affiliate-rate_depth1-error", "from 0 to 100"),
        ({"rate_depth2": "-1"}, "affiliate-rate_depth2-error", "from 0 to 100"),
        ({"max_depth": "4"}, "affiliate-max_depth-error", ""),
        ({"cap_percent": "12"}, "affiliate-cap_percent-error", "below the sum"),
        ({"rate_depth1": "abc"}, "affiliate-rate_depth1-error", ""),
    ]
    for changes, error_id, text in cases:
        response = plan_post(admin_client, **changes)
        assert response.status_code == 400, changes
        html = response.get_data(as_text=True)
        assert f'id="{error_id}"' in html, changes
        assert text in html
    assert stored_plan(app)["rates"] == (D("10"), D("3"), D("1"))
    # a cap that covers the paid levels is fine, unpaid levels do not count
    assert plan_post(admin_client, cap_percent="11", max_depth="1").status_code == 302


def override_post(client, role: str = "affiliate", htmx: bool = True, **changes: str):
    data = {"scope": "product", "target_id": "P1", "depth": "1", "kind": "percent", "value": "15"}
    data.update(changes)
    payload = {f"new-{role}-{k}": v for k, v in data.items()}
    payload["csrf_token"] = csrf_token(client, "/admin/plans")
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/admin/plans/{role}/overrides", data=payload, headers=headers)


def test_overrides_add_edit_delete_inline(app: Flask, admin_client) -> None:
    response = override_post(admin_client)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="overrides-affiliate"') and "<html" not in html
    assert "P1" in html and "15 %" in html
    with app.app_context():
        override_id = db.session.scalar(select(PlanOverride.id))

    duplicate = override_post(admin_client)
    assert duplicate.status_code == 400
    assert "already an override" in duplicate.get_data(as_text=True)
    for bad in (
        {"value": "-2", "kind": "fixed"},
        {"value": "101"},
        {"depth": "4"},
        {"target_id": "a b"},
    ):
        assert (
            override_post(admin_client, target_id=bad.pop("target_id", "P7"), **bad).status_code
            == 400
        )

    edit = admin_client.get(
        f"/admin/plans/affiliate/overrides/{override_id}/edit", headers={"HX-Request": "true"}
    )
    assert edit.status_code == 200
    assert edit.get_data(as_text=True).lstrip().startswith(f'<tr id="override-{override_id}"')
    full = admin_client.get(f"/admin/plans/affiliate/overrides/{override_id}/edit")
    assert "<html" in full.get_data(as_text=True)

    token = csrf_token(admin_client, "/admin/plans")
    prefix = f"o{override_id}-"
    saved = admin_client.post(
        f"/admin/plans/affiliate/overrides/{override_id}",
        data={
            "csrf_token": token,
            prefix + "scope": "category",
            prefix + "target_id": "books",
            prefix + "depth": "2",
            prefix + "kind": "fixed",
            prefix + "value": "1.5",
        },
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    row = saved.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="override-{override_id}"') and "books" in row
    with app.app_context():
        o = db.session.get(PlanOverride, override_id)
        assert (o.scope, o.target_id, o.depth, o.kind, o.value) == (
            "category",
            "books",
            2,
            "fixed",
            D("1.5"),
        )

    removed = admin_client.post(
        f"/admin/plans/affiliate/overrides/{override_id}/delete",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert removed.status_code == 200 and "No overrides" in removed.get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["plan.override.save", "plan.override.save", "plan.override.delete"]
    assert (
        admin_client.post("/admin/plans/nobody/overrides", data={"csrf_token": token}).status_code
        == 404
    )


def test_levels_edit_and_validation(app: Flask, admin_client) -> None:
    token = csrf_token(admin_client, "/admin/levels")
    added = admin_client.post(
        "/admin/levels",
        data={
            "csrf_token": token,
            "new-name": "Member",
            "new-rank": "1",
            "new-rate_depth1": "12",
            "new-rate_depth2": "",
            "new-rate_depth3": "",
        },
    )
    assert added.status_code == 302
    with app.app_context():
        level = db.session.scalars(select(Level)).one()
        assert (level.rate_depth1, level.rate_depth2) == (D("12"), None)
        level_id = level.id
    bad = admin_client.post(
        f"/admin/levels/{level_id}",
        data={
            "csrf_token": token,
            f"l{level_id}-name": "Member",
            f"l{level_id}-rank": "1",
            f"l{level_id}-rate_depth1": "150",
        },
    )
    assert bad.status_code == 400 and "from 0 to 100" in bad.get_data(as_text=True)
    clash = admin_client.post(
        "/admin/levels", data={"csrf_token": token, "new-name": "Again", "new-rank": "1"}
    )
    assert clash.status_code == 400 and "already has this rank" in clash.get_data(as_text=True)


def test_preview_explains_every_line(app: Flask, admin_client, make_distributor) -> None:
    plan_post(admin_client, cap_percent="")
    top, _ = make_distributor("top@shop.example", name="Top")
    _, code = make_distributor("seller@shop.example", parent_id=top, name="Seller")
    token = csrf_token(admin_client, "/admin/plans/preview")
    response = admin_client.post(
        "/admin/plans/preview",
        data={
            "csrf_token": token,
            "code": code.lower(),
            "lines": "P1, books, 2, 60.00\nGIFT, , 1, 10",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<div id="preview">')
    assert "$6.00" in html and "$1.80" in html  # 10 % and 3 % of 60 (GIFT is excluded)
    assert "Seller" in html and "Top" in html
    for data, needle in (
        ({"code": "ZZZZZZ", "lines": "P1, , 1, 5"}, "No distributor has this code."),
        ({"code": code, "lines": "P1; 1; 5"}, "Line 1: write product, category, quantity, total."),
        ({"code": code, "lines": "P1, x, one, 5"}, "Line 1: quantity must be a whole number"),
        ({"code": code, "order": "999"}, "No stored order has this number."),
        ({"code": code}, "Give an order number or at least one line."),
    ):
        bad = admin_client.post("/admin/plans/preview", data={"csrf_token": token, **data})
        assert bad.status_code == 400 and needle in bad.get_data(as_text=True), needle


def test_backtest_reprices_recent_orders_without_saving(
    app: Flask, admin_client, make_distributor
) -> None:
    plan_post(admin_client)
    top, _ = make_distributor("top@shop.example", name="Top")
    seller, _ = make_distributor("seller@shop.example", parent_id=top, name="Seller")
    now = utcnow()
    with app.app_context():
        for n in range(3):
            stored = orders.store_order(
                OrderData(
                    shop_order_id=f"B{n}",
                    status="processing",
                    currency="USD",
                    created_at=now - timedelta(days=10 + n),
                    modified_at=now - timedelta(days=10 + n),
                    lines=(LineData("1", "P1", 1, D("100.00")),),
                    attribution=Attribution(seller, "coupon"),
                )
            )
            services.apply_order(stored.order_id, now)
        old = orders.store_order(
            OrderData(
                shop_order_id="OLD",
                status="processing",
                currency="USD",
                created_at=now - timedelta(days=120),
                modified_at=now - timedelta(days=120),
                lines=(LineData("1", "P1", 1, D("100.00")),),
                attribution=Attribution(seller, "coupon"),
            )
        )
        services.apply_order(old.order_id, now)
    response = plan_post(admin_client, url_suffix="/backtest", rate_depth1="20")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "3 orders of this role re-priced." in html
    assert "$39.00" in html and "$69.00" in html  # (10+3)×3 now, (20+3)×3 after
    assert "Seller" in html
    assert stored_plan(app)["rates"][0] == D("10")  # nothing saved
    bad = plan_post(admin_client, url_suffix="/backtest", rate_depth1="200")
    assert bad.status_code == 400 and "Fix the plan values first" in bad.get_data(as_text=True)


def test_non_finite_and_oversized_numbers_are_field_errors(
    app: Flask, admin_client, make_distributor
) -> None:
    plan_post(admin_client)
    for changes in (
        {"rate_depth1": "sNaN"},
        {"rate_depth1": "NaN"},
        {"cap_percent": "NaN"},
        {"rate_depth2": "Infinity"},
        {"rate_depth1": "1.23456"},
    ):
        assert plan_post(admin_client, **changes).status_code == 400, changes
    for value, kind in (
        ("Infinity", "fixed"),
        ("1e20", "fixed"),
        ("NaN", "percent"),
        ("-Infinity", "fixed"),
    ):
        assert override_post(admin_client, value=value, kind=kind).status_code == 400, value
    with app.app_context():
        assert db.session.scalar(select(PlanOverride.id)) is None
    _, code = make_distributor("seller@shop.example")
    token = csrf_token(admin_client, "/admin/plans/preview")
    for lines in ("p1,,1,NaN", "p1,,1,Infinity", "p1,,1,1e30"):
        response = admin_client.post(
            "/admin/plans/preview", data={"csrf_token": token, "code": code, "lines": lines}
        )
        assert response.status_code == 400, lines
        assert "total an amount" in response.get_data(as_text=True)


def _sell(app: Flask, seller: int, n: int) -> None:
    now = utcnow()
    with app.app_context():
        for i in range(n):
            stored = orders.store_order(
                OrderData(
                    shop_order_id=f"R{seller}-{i}",
                    status="processing",
                    currency="USD",
                    created_at=now - timedelta(days=5),
                    modified_at=now - timedelta(days=5),
                    lines=(LineData("1", "P1", 1, D("100.00")),),
                    attribution=Attribution(seller, "coupon"),
                )
            )
            services.apply_order(stored.order_id, now)


def test_a_plan_rate_every_level_overrides_is_named_and_warned(
    app: Flask, admin_client, make_distributor
) -> None:
    """The issue's case: 10 % → 14 % backtests to 0.00 because every level has its own
    seller rate. The editor says the level rate wins and warns the change does nothing."""
    plan_post(admin_client, max_depth="1", rate_depth1="10", exclusions="")
    with app.app_context():
        gold = Level(name="Gold", rank=1, rate_depth1=D("12"))
        silver = Level(name="Silver", rank=2, rate_depth1=D("8"))
        db.session.add_all([gold, silver])
        db.session.commit()
        levels = {"gold": gold.id, "silver": silver.id}
    sellers = [make_distributor(f"s{n}@shop.example", name=f"S{n}")[0] for n in range(2)]
    with app.app_context():
        db.session.get(Distributor, sellers[0]).level_id = levels["gold"]
        db.session.get(Distributor, sellers[1]).level_id = levels["silver"]
        db.session.commit()
    for seller in sellers:
        _sell(app, seller, 2)

    page = admin_client.get("/admin/plans").get_data(as_text=True)
    table = page.split('id="plan-affiliate"')[1].split("Product and category overrides")[0]
    assert "Which rate wins" in table
    assert "Gold" in table and '12 % <span class="badge badge-level-rate">level rate' in table
    assert "No level" in table and '10 % <span class="badge badge-plan-rate">plan rate' in table

    tried = plan_post(
        admin_client, url_suffix="/backtest", max_depth="1", rate_depth1="14", exclusions=""
    )
    html = tried.get_data(as_text=True)
    assert "4 orders of this role re-priced." in html and "$0.00" in html
    assert "The depth-1 rate (10 % → 14 %) changes no order" in html
    assert "has a level with its own depth-1" in html
    saved = plan_post(admin_client, max_depth="1", rate_depth1="14", exclusions="")
    assert "changes no order" in admin_client.get(saved.headers["Location"]).text

    # Changing a depth the plan does not pay is just as idle.
    idle = plan_post(
        admin_client, url_suffix="/backtest", max_depth="1", rate_depth1="14", rate_depth2="9"
    )
    assert "The depth-2 rate (3 % → 9 %) changes no order: only 1 depth is paid." in idle.text

    # One distributor without a level: the plan rate is used, no warning.
    newcomer, _ = make_distributor("new@shop.example", name="New")
    _sell(app, newcomer, 1)
    live = plan_post(
        admin_client, url_suffix="/backtest", max_depth="1", rate_depth1="20", exclusions=""
    ).get_data(as_text=True)
    assert "changes no order" not in live
    assert "$6.00" in live  # the newcomer's one order: 14 % → 20 % of 100.00
