"""Leaderboard and notices (#17 item 6): column labels on every cell and my own place
below the top ten; notices that carry their amount and a link to what they are about;
one "you won" per winner, never two identical ones; a notice when an order of mine or of
my team earns me commission (each behind my own setting), and when my application or
withdrawal is rejected, with the reason."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.campaigns import services as campaigns
from portal.campaigns.models import CampaignMetric
from portal.commissions import services as commissions
from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.notifications import mail, services
from portal.notifications.jobs import notify_new_commissions
from portal.notifications.models import Notification, NotificationKind
from portal.orders import services as orders
from portal.timeutil import utcnow
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import PayoutMethod
from tests import factories
from tests.helpers import csrf_token, login

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def store(seller: int, number: str, at: datetime, total: str = "100.00", **kw) -> int:
    data = factories.order(
        seller,
        number,
        total,
        at=at,
        evidence={"coupon": "X"},
        number=number,
        customer_email=f"buyer{number}@example.com",
        **kw,
    )
    return orders.store_order(data).order_id


def notices(distributor_id: int) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.distributor_id == distributor_id)
            .order_by(Notification.id)
        )
    )


@pytest.fixture
def two_levels(app: Flask) -> None:
    with app.app_context():
        factories.add_plan("10", "5")


# --- leaderboard ------------------------------------------------------------------------


def test_the_board_labels_its_cells_and_shows_my_place_below_the_top_ten(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    ids = [make_distributor(f"d{n}@shop.example", name=f"Seller {n}")[0] for n in range(12)]
    now = utcnow()
    with app.app_context():
        for rank, distributor_id in enumerate(ids):  # d0 sells most; d11 least (place 12)
            for n in range(12 - rank):
                store(distributor_id, f"{rank}-{n}", now - timedelta(minutes=5), status="completed")
    assert login(client, "d11@shop.example").status_code == 302
    html = client.get("/me/campaigns/leaderboard?period=month&metric=orders").get_data(as_text=True)
    rows = re.findall(
        r"<tr(?: class=\"me\" aria-current=\"true\")?><td data-label=\"Place\">(\d+)", html
    )
    assert rows == [str(n) for n in range(1, 11)] + ["12"]
    assert (
        html.count('data-label="Name"') == 11 and html.count('data-label="Qualifying orders"') == 11
    )
    assert "Your place: 12" in html
    assert 'class="me" aria-current="true"><td data-label="Place">12' in html
    assert "Seller 10" not in html  # place 11 is nobody's business

    other = app.test_client()
    make_distributor("new@shop.example")
    assert login(other, "new@shop.example").status_code == 302
    html = other.get("/me/campaigns/leaderboard?period=month").get_data(as_text=True)
    assert "You are not on the board yet" in html and "Your place" not in html
    other = app.test_client()
    assert login(other, "d0@shop.example").status_code == 302
    html = other.get("/me/campaigns/leaderboard?period=month").get_data(as_text=True)
    assert "Your place" not in html and "not on the board" not in html  # in the top ten


# --- campaign wins ----------------------------------------------------------------------


def test_a_winner_of_a_bonus_and_a_prize_hears_it_once_with_the_amount(
    app: Flask, client: FlaskClient, make_distributor
) -> None:
    """The demo's two identical "You won the campaign …" notices: the tier bonus and the
    first prize were announced apart, with the same words. Now one notice says both."""
    winner, _ = make_distributor("w@shop.example")
    second, _ = make_distributor("s@shop.example")
    with app.app_context():
        for n in range(3):
            store(winner, f"w{n}", START + timedelta(days=n + 1), status="completed")
        store(second, "s0", START + timedelta(days=1), status="completed")
        created = campaigns.create(
            campaigns.CampaignData(
                name="Sprint",
                description="",
                metric=CampaignMetric.ORDERS,
                starts_at=START,
                ends_at=END,
                eligible_roles=[],
                eligible_level_ids=[],
                tiers=[(D(2), D(50))],
                prizes=[D(300), D(100)],
            ),
            None,
        )
        assert campaigns.close_due_campaigns() == 3
        assert campaigns.close_due_campaigns() == 0
        mine = notices(winner)
        assert [n.kind for n in mine] == [NotificationKind.CAMPAIGN_WON]
        assert services.message(mine[0]) == "You won $350.00 in the campaign Sprint: place 1."
        theirs = notices(second)
        assert services.message(theirs[0]) == "You won $100.00 in the campaign Sprint: place 2."
        campaign_id = created.id
    assert login(client, "w@shop.example").status_code == 302
    html = client.get("/me/notifications").get_data(as_text=True)
    assert html.count("You won") == 1
    assert f'href="/me/campaigns/leaderboard?period=campaign&amp;campaign={campaign_id}"' in html


# --- commission and team-sale notices ---------------------------------------------------


def test_an_order_and_a_team_sale_each_announce_the_commission_once(
    app: Flask, client: FlaskClient, two_levels, make_distributor
) -> None:
    upline, _ = make_distributor("up@shop.example", name="Upline")
    seller, _ = make_distributor("s@shop.example", parent_id=upline, name="Mei Chen")
    with app.app_context():
        assert notify_new_commissions() == 0  # the first run only places the cursor
        order_id = store(seller, "5001", utcnow() - timedelta(minutes=10), total="80.00")
        commissions.apply_order(order_id, utcnow())
        later = utcnow() + timedelta(minutes=5)
        assert notify_new_commissions(later) == 2
        assert notify_new_commissions(later) == 0  # once
        (own,) = notices(seller)
        assert own.kind is NotificationKind.ORDER_COMMISSION
        assert services.message(own) == "Order 5001 earns you $8.00 commission."
        (team,) = notices(upline)
        assert team.kind is NotificationKind.TEAM_SALE
        assert services.message(team) == (
            "Mei Chen in your team made a sale (order 5001): it earns you $4.00."
        )
    assert login(client, "up@shop.example").status_code == 302
    html = client.get("/me/notifications").get_data(as_text=True)
    assert f'<a href="/me/orders/{order_id}">See the order</a>' in html
    assert client.get(f"/me/orders/{order_id}").status_code == 200  # the link opens


def test_each_notice_follows_the_distributors_own_setting(
    app: Flask, client: FlaskClient, two_levels, make_distributor
) -> None:
    upline, _ = make_distributor("up@shop.example")
    seller, _ = make_distributor("s@shop.example", parent_id=upline)
    assert login(client, "up@shop.example").status_code == 302
    page = client.get("/me/notifications/settings")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("checked") == 2  # both on by default
    token = csrf_token(client, "/me/notifications/settings")
    assert client.post("/me/notifications/settings", data={}).status_code == 400  # no CSRF
    saved = client.post(
        "/me/notifications/settings", data={"csrf_token": token, "notify_commission": "y"}
    )
    assert saved.status_code == 302
    with app.app_context():
        me = db.session.get(Distributor, upline)
        assert (me.notify_commission, me.notify_team_sale) == (True, False)
        assert db.session.get(Distributor, seller).notify_team_sale  # theirs untouched
        notify_new_commissions()
        order_id = store(seller, "6001", utcnow() - timedelta(minutes=10))
        commissions.apply_order(order_id, utcnow())
        assert notify_new_commissions(utcnow() + timedelta(minutes=5)) == 1
        assert notices(upline) == []  # team sales off
        assert [n.kind for n in notices(seller)] == [NotificationKind.ORDER_COMMISSION]


# --- rejections -------------------------------------------------------------------------


def test_a_rejected_withdrawal_and_application_say_why(
    app: Flask, client: FlaskClient, make_distributor, make_user, outbox, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "PORTAL_BASE_URL", "https://partners.example")
    ops_id = make_user("ops@shop.example", Role.OPS)
    seller, _ = make_distributor("s@shop.example")
    applicant, _ = make_distributor("a@shop.example", status=DistributorStatus.APPLIED)
    then = utcnow() - timedelta(days=30)
    with app.app_context():
        factories.add_plan("50")
        order_id = store(seller, "7001", then, total="200.00", status="completed")
        commissions.apply_order(order_id, then)
        commissions.mature_commissions(utcnow())
        account = withdrawals.add_account(seller, PayoutMethod.PAYPAL, "S", "s@example.com")
        withdrawal = withdrawals.request_withdrawal(seller, D("60"), account.id)
        withdrawal_id = withdrawal.id
        ops = db.session.get(User, ops_id)
        withdrawals.reject(withdrawal_id, ops, "The PayPal account is not verified")
        distributors.reject(applicant, ops, "We only work with shops in Shanghai")
        (rejected,) = [n for n in notices(seller) if n.kind is NotificationKind.WITHDRAWAL_REJECTED]
        assert services.message(rejected) == (
            "Your withdrawal of $60.00 was rejected. Reason: The PayPal account is not "
            "verified. The amount is back in your available balance."
        )
        (declined,) = notices(applicant)
        assert services.message(declined) == (
            "Your application was not approved. Reason: We only work with shops in Shanghai"
        )
        mail.deliver_emails()
    emails = {m["To"]: m for m in outbox()}
    body = emails["s@shop.example"].get_content()
    assert "not verified" in body
    assert f"See the withdrawal: https://partners.example/me/withdrawals/{withdrawal_id}" in body
    assert "Shanghai" in emails["a@shop.example"].get_content()

    assert login(client, "s@shop.example").status_code == 302
    html = client.get("/me/notifications").get_data(as_text=True)
    assert f'<a href="/me/withdrawals/{withdrawal_id}">See the withdrawal</a>' in html
    assert client.get(f"/me/withdrawals/{withdrawal_id}").status_code == 200


def test_every_kind_has_words_a_subject_and_a_link(app: Flask, make_distributor) -> None:
    distributor_id, _ = make_distributor("d@shop.example")
    with app.test_request_context():
        for kind in NotificationKind:
            note = Notification(distributor_id=distributor_id, kind=kind, params={})
            assert services.message(note) and services.subject(note), kind
            href, words = services.link(note)
            assert href.startswith("/me") and words, kind


def test_a_notice_links_only_to_its_owners_objects(
    app: Flask, client: FlaskClient, two_levels, make_distributor
) -> None:
    """The link names the owner's object; anyone else opening it gets a 404."""
    seller, _ = make_distributor("s@shop.example")
    make_distributor("other@shop.example")
    with app.app_context():
        notify_new_commissions()
        order_id = store(seller, "8001", utcnow() - timedelta(minutes=10))
        commissions.apply_order(order_id, utcnow())
        notify_new_commissions(utcnow() + timedelta(minutes=5))
    assert login(client, "other@shop.example").status_code == 302
    assert client.get(f"/me/orders/{order_id}").status_code == 404
    assert "8001" not in client.get("/me/notifications").get_data(as_text=True)
