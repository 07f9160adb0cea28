"""The distributor centre: dashboard figures against the ledger and clicks, the team,
orders with their evidence and history, the CSV statement."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from babel.numbers import format_currency
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.commissions import services as commissions
from portal.commissions.models import Commission
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.links.models import Click
from portal.orders import services as orders
from portal.orders.models import Order
from portal.orders.services import Attribution, LineData, OrderData
from portal.periods import month_of
from portal.timeutil import utcnow
from tests import factories
from tests.helpers import login

NOW = utcnow()


@pytest.fixture
def tree(app: Flask, make_distributor) -> dict[str, int]:
    """top ← mid ← seller, plus an unrelated distributor; a 10/3/1 % plan."""
    top, mid, seller = factories.chain(
        make_distributor,
        "top@shop.example",
        "mid@shop.example",
        "seller@shop.example",
        names=("Top", "Mid", "Seller Sun"),
    )
    other, _ = make_distributor("other@shop.example", name="Other")
    with app.app_context():
        factories.add_plan("10", "3", "1")
    return {"top": top, "mid": mid, "seller": seller, "other": other}


def sell(
    app: Flask,
    seller: int,
    shop_order_id: str,
    total: str = "100.00",
    status: str = "processing",
    method: str = "coupon",
    created=None,
) -> int:
    data = factories.order(
        seller,
        shop_order_id,
        total,
        at=created or NOW,
        status=status,
        method=method,
        evidence={"coupons": ["SUN10"], "matched": "SUN10"},
        lines=(LineData("1", "P1", 1, D(total), ("books",)),),
        customer_email="buyer@example.com",
    )
    with app.app_context():
        return factories.book(data)


def update(app: Flask, order_id: int, refunded: str = "0", status: str | None = None) -> None:
    """The shop sends the order again: refunded and/or with a new status."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        completed = NOW if status == "completed" else order.completed_at
        data = OrderData(
            shop_order_id=order.shop_order_id,
            status=status or order.status,
            currency="USD",
            created_at=order.created_at_shop,
            modified_at=order.modified_at_shop + timedelta(minutes=1),
            lines=(
                LineData(
                    "1", "P1", 1, order.lines[0].total, ("books",), refunded_total=D(refunded)
                ),
            ),
            customer_email="buyer@example.com",
            attribution=Attribution(order.distributor_id, order.attribution_method, {}),
            completed_at=completed,
        )
        orders.store_order(data)
        commissions.apply_order(order_id, NOW)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def shown(html: str, attribute: str) -> str:
    match = re.search(rf'{attribute}">([^<]*)<', html)
    assert match, attribute
    return match.group(1).strip()


def usd(amount: D) -> str:
    return format_currency(amount, "USD", locale="en")


def test_dashboard_numbers_are_the_ledger_and_clicks(app: Flask, client, tree) -> None:
    seller = tree["seller"]
    sell(app, seller, "1", "100.00", status="completed")  # holding
    refunded = sell(app, seller, "2", "80.00")  # pending, then partly refunded
    update(app, refunded, refunded="30.00")
    sell(app, seller, "3", "50.00", status="cancelled")  # void: no sales, reversed
    sell(app, seller, "4", "20.00", created=NOW - timedelta(days=45))  # outside 30 days
    sell(app, tree["other"], "5", "999.00")  # someone else's
    with app.app_context():
        commissions.mature_commissions(NOW + timedelta(days=30))  # order 1 → available
        db.session.add_all(
            [Click(distributor_id=seller, visitor_hash=f"v{n}", created_at=NOW) for n in range(4)]
            + [
                Click(
                    distributor_id=seller, visitor_hash="old", created_at=NOW - timedelta(days=40)
                )
            ]
            + [Click(distributor_id=tree["other"], visitor_hash="x", created_at=NOW)]
        )
        db.session.commit()
        expected = {
            bucket: D(
                db.session.scalar(
                    select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                        LedgerEntry.distributor_id == seller, LedgerEntry.bucket == bucket
                    )
                )
            )
            for bucket in ("available", "pending", "holding", "paid")
        }
        earned = D(
            db.session.scalar(
                select(func.sum(LedgerEntry.amount)).where(
                    LedgerEntry.distributor_id == seller,
                    LedgerEntry.kind.in_([EntryKind.ACCRUAL.value, EntryKind.ADJUSTMENT.value]),
                    LedgerEntry.created_at >= month_of(NOW).start,
                )
            )
        )
    # What the ledger says, independently of the page: 10 % of 100 is available, 10 % of
    # (80 - 30) is pending, the 45-day-old order's too (booked then: not earned this month).
    assert expected["available"] == D("10")
    assert expected["pending"] == D("5") + D("2")

    client = signed_in(app, "seller@shop.example")
    html = client.get("/me/").get_data(as_text=True)
    for bucket, amount in expected.items():
        assert shown(html, f'data-bucket="{bucket}') == usd(amount), bucket
    assert shown(html, 'data-figure="orders') == "2"  # 45 days ago is never this month
    assert shown(html, 'data-figure="earned') == usd(earned)
    assert shown(html, 'data-figure="clicks') == "4"
    assert shown(html, 'data-figure="funnel-orders') == "2"
    assert shown(html, 'data-figure="conversion') == "50.0 %"
    assert "share-cta" in html


def test_holding_money_shows_when_it_becomes_available(app: Flask, client, tree) -> None:
    sell(app, tree["seller"], "1", "100.00", status="completed")
    with app.app_context():
        hold_until = db.session.scalar(select(Commission.hold_until).where(Commission.depth == 1))
    client = signed_in(app, "seller@shop.example")
    html = client.get("/me/").get_data(as_text=True)
    assert f'datetime="{hold_until.date().isoformat()}"' in html
    assert usd(D("10")) in html


def test_chart_partial_and_full_page(app: Flask, client, tree) -> None:
    sell(app, tree["seller"], "1", "123.00")
    client = signed_in(app, "seller@shop.example")
    partial = client.get("/me/chart?days=7", headers={"HX-Request": "true"})
    page = client.get("/me/chart?days=7")
    assert partial.status_code == page.status_code == 200
    assert "<html" not in partial.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    body = partial.get_data(as_text=True)
    assert body.count('<rect class="bar"') == 2 * 7
    assert f"{NOW.date().isoformat()}: {usd(D('123'))}" in body
    assert "Sales: " + usd(D("123")) in body
    assert client.get("/me/chart?days=5000").status_code == 200  # falls back to 30 days


def test_team_by_depth_without_personal_data(app: Flask, client, tree, make_distributor) -> None:
    for n in range(3):
        make_distributor(f"kid{n}@shop.example", parent_id=tree["seller"], name=f"Kid {n}")
    sell(app, tree["seller"], "1", "200.00")
    client = signed_in(app, "top@shop.example")
    html = client.get("/me/team").get_data(as_text=True)
    assert [shown(html, f'data-depth="{d}') for d in (1, 2, 3)] == ["1", "1", "3"]
    assert "@shop.example" not in html
    assert "buyer@example.com" not in html
    # top earned 1 % of the seller's 200 (depth 3): shown against the seller's row.
    seller_row = html[html.index("Seller Sun") :].split("</tr>")[0]
    assert usd(D("200")) in seller_row and usd(D("2")) in seller_row
    found = client.get("/me/team?q=kid&depth=3", headers={"HX-Request": "true"})
    text = found.get_data(as_text=True)
    assert text.count('data-label="Name"') == 3 and "Seller Sun" not in text and "<html" not in text
    assert "Kid" not in client.get("/me/team?q=%25").get_data(as_text=True).split("<table")[0]
    client = signed_in(app, "other@shop.example")
    assert "Seller Sun" not in client.get("/me/team").get_data(as_text=True)


def test_orders_show_evidence_state_and_history(app: Flask, client, tree) -> None:
    own = sell(app, tree["seller"], "1001", "100.00")
    update(app, own, status="completed")
    team_order = sell(app, tree["seller"], "1002", "60.00")
    client = signed_in(app, "mid@shop.example")
    html = client.get("/me/orders").get_data(as_text=True)
    assert "Sold by Seller Sun in your team" in html and "#1002" in html
    detail = client.get(f"/me/orders/{team_order}").get_data(as_text=True)
    assert "team commission" in detail and "SUN10" not in detail
    client = signed_in(app, "seller@shop.example")
    detail = client.get(f"/me/orders/{own}").get_data(as_text=True)
    assert "coupon SUN10" in detail
    assert detail.count("<li><time") == 2  # computed (pending), then holding
    holding = client.get("/me/orders?state=holding").get_data(as_text=True)
    assert "#1001" in holding and "#1002" not in holding
    month = NOW.strftime("%Y-%m")
    assert "#1002" in client.get(f"/me/orders?month={month}").get_data(as_text=True)
    assert "#1002" not in client.get("/me/orders?month=2001-01").get_data(as_text=True)
    assert client.get("/me/orders?month=garbage&state=nope").status_code == 200
    client = signed_in(app, "other@shop.example")
    assert client.get(f"/me/orders/{own}").status_code == 404
    assert "#1001" not in client.get("/me/orders").get_data(as_text=True)


def test_statement_csv_sums_to_the_commissions(app: Flask, client, tree, make_distributor) -> None:
    with app.app_context():
        seller = db.session.get(Distributor, tree["seller"])
        seller.display_name = "=HYPERLINK(1)"
        db.session.commit()
    for n in range(3):
        sell(app, tree["seller"], str(n), "33.33")
    client = signed_in(app, "mid@shop.example")
    response = client.get("/me/statement.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheet programs read the Chinese words right
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    with app.app_context():
        total = db.session.scalar(
            select(func.sum(Commission.amount)).where(Commission.beneficiary_id == tree["mid"])
        )
    assert len(rows) == 3
    assert sum(D(r["Amount"]) for r in rows) == D(total) == 3 * D("1.00")
    assert {r["Sold by"] for r in rows} == {"'=HYPERLINK(1)"}  # no formula in a spreadsheet
    assert {r["State"] for r in rows} == {"Pending"}  # words, not pending / ref_meta
    assert {r["How it came to me"] for r in rows} == {"Coupon"}
    assert {r["Order status"] for r in rows} == {"Processing"}
    empty = client.get("/me/statement.csv?state=paid").get_data(as_text=True)
    assert empty.strip().count("\n") == 0


def test_statement_csv_lists_manual_adjustments_and_bonuses(
    app: Flask, client, tree, make_user
) -> None:
    """Money booked without a commission line is in the statement too, in words."""
    sell(app, tree["seller"], "1", "100.00")
    with app.app_context():
        from portal.accounts.models import User
        from portal.distributors import adjustments
        from portal.ledger.services import Journal

        ops = db.session.get(User, make_user("ops@shop.example"))
        adjustments.submit(tree["seller"], D("7.50"), "Photo contest prize", ops)
        journal = Journal()
        journal.book(
            tree["seller"],
            Bucket.AVAILABLE,
            D("20.00"),
            "USD",
            EntryKind.BONUS,
            "campaign:3:rank:1",
        )
        journal.write()
        db.session.commit()
    client = signed_in(app, "seller@shop.example")
    text = client.get("/me/statement.csv").get_data(as_text=True).removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    extra = {r["How it came to me"]: (r["Amount"], r["State"]) for r in rows if not r["Order"]}
    assert extra["Manual adjustment: Adjustment #1: Photo contest prize"] == ("7.50", "Available")
    assert extra["Campaign bonus: Campaign #3, place 1"] == ("20.00", "Available")
    assert len(rows) == 3  # the commission line and the two
    by_state = client.get("/me/statement.csv?state=pending").get_data(as_text=True)
    assert "Photo contest prize" not in by_state


def test_suspended_distributor_still_sees_earnings(app: Flask, client, tree) -> None:
    sell(app, tree["seller"], "1", "100.00")
    with app.app_context():
        seller = db.session.get(Distributor, tree["seller"])
        seller.status = DistributorStatus.SUSPENDED
        db.session.commit()
    client = signed_in(app, "seller@shop.example")
    html = client.get("/me/").get_data(as_text=True)
    assert "suspended" in html and shown(html, 'data-bucket="pending') == usd(D("10"))
    assert "share-cta" not in html
    assert client.get("/me/orders").status_code == 200
    assert client.get("/me/statement.csv").status_code == 200


def test_refund_reduces_sales_and_reversal_is_not_earned(app: Flask, client, tree) -> None:
    order_id = sell(app, tree["seller"], "1", "100.00")
    update(app, order_id, refunded="100.00")
    client = signed_in(app, "seller@shop.example")
    html = client.get("/me/").get_data(as_text=True)
    assert shown(html, 'data-figure="sales') == usd(D("0"))
    assert shown(html, 'data-figure="earned') == usd(D("0"))
    with app.app_context():
        assert db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.bucket == Bucket.PENDING.value)
        )
