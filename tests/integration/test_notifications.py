"""Notifications: made by the events (approval, payment, level up, available commission),
listed and marked read by their owner only, counted in the distributor nav, emailed
through the configured sender from the outbox."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.commissions import services as commissions
from portal.commissions.models import CommissionPlan
from portal.distributors import services as distributors
from portal.distributors.models import DistributorStatus
from portal.extensions import db
from portal.notifications import mail
from portal.notifications.jobs import notify_available_commissions
from portal.notifications.models import Notification, NotificationKind
from portal.notifications.services import notify, unread_count
from portal.timeutil import utcnow
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import PayoutMethod
from tests import factories
from tests.helpers import csrf_from, csrf_token, login


def _kinds(app: Flask, distributor_id: int) -> list[NotificationKind]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification.kind)
                .where(Notification.distributor_id == distributor_id)
                .order_by(Notification.id)
            )
        )


def _add(app: Flask, distributor_id: int, kind: NotificationKind, **params: object) -> int:
    with app.app_context():
        notification = notify(distributor_id, kind, params)
        db.session.commit()
        return notification.id


def _earn(app: Flask, distributor_id: int, total: str, shop_order_id: str = "7001") -> None:
    """A completed order with a 50 % commission, matured into the available balance."""
    then = utcnow() - timedelta(days=30)
    with app.app_context():
        if not db.session.scalar(select(CommissionPlan.id)):
            factories.add_plan("50")
        factories.book(
            factories.order(distributor_id, shop_order_id, total, at=then, status="completed")
        )
        commissions.mature_commissions(utcnow())


def test_approval_and_payment_notify_the_distributor(
    app: Flask, make_distributor, make_user
) -> None:
    admin_id = make_user("ops@shop.example", Role.OPS)
    applicant, _ = make_distributor("new@shop.example", status=DistributorStatus.APPLIED)
    with app.app_context():
        distributors.approve(applicant, db.session.get(User, admin_id))
    assert _kinds(app, applicant) == [NotificationKind.APPROVED]

    _earn(app, applicant, "200.00")
    with app.app_context():
        admin = db.session.get(User, admin_id)
        account = withdrawals.add_account(applicant, PayoutMethod.PAYPAL, "New", "new@example.com")
        withdrawal = withdrawals.request_withdrawal(applicant, D("50"), account.id)
        withdrawals.approve(withdrawal.id, admin)
        withdrawals.pay(withdrawal.id, admin, "TX-42")
        paid = db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.WITHDRAWAL_PAID)
        ).one()
        assert paid.params["reference"] == "TX-42"
        assert D(paid.params["amount"]) == withdrawal.net


def test_list_badge_and_mark_read(app: Flask, make_distributor) -> None:
    me, _ = make_distributor("me@shop.example")
    first = _add(app, me, NotificationKind.LEVEL_UP, level="Gold")
    _add(app, me, NotificationKind.NEW_MATERIAL, title="Spring sale poster")
    client = app.test_client()
    login(client, "me@shop.example")

    html = client.get("/me/notifications").get_data(as_text=True)
    assert "You reached the level Gold" in html
    assert "Spring sale poster" in html
    assert 'id="notification-badge"' in html and ">2<" in html

    token = csrf_token(client, "/me/notifications")
    response = client.post(
        f"/me/notifications/{first}/read",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert f'id="notification-{first}"' in fragment and "unread" not in fragment.split("\n")[0]
    assert 'hx-swap-oob="true"' in fragment and ">1<" in fragment

    shown = csrf_from(client.get("/me/notifications").get_data(as_text=True))
    up_to = re.search(r'name="up_to" type="hidden" value="(\d+)"', html)
    assert up_to is not None
    arrived_since = _add(app, me, NotificationKind.APPROVED)
    assert client.post("/me/notifications/read", data={"csrf_token": shown}).status_code == 400
    read_all = {"csrf_token": shown, "up_to": up_to.group(1)}
    assert client.post("/me/notifications/read", data=read_all).status_code == 302
    with app.app_context():
        assert unread_count(me) == 1  # only the one that arrived after the page was shown
        assert db.session.get(Notification, arrived_since).read_at is None


def test_nobody_sees_or_reads_someone_elses_notifications(app: Flask, make_distributor) -> None:
    victim, _ = make_distributor("victim@shop.example")
    make_distributor("snoop@shop.example")
    secret = _add(
        app,
        victim,
        NotificationKind.WITHDRAWAL_PAID,
        amount="12.00",
        currency="USD",
        reference="SECRET-REF",
    )
    client = app.test_client()
    login(client, "snoop@shop.example")
    html = client.get("/me/notifications").get_data(as_text=True)
    assert "SECRET-REF" not in html and 'id="notification-badge"' in html
    token = csrf_token(client, "/me/notifications")
    assert (
        client.post(f"/me/notifications/{secret}/read", data={"csrf_token": token}).status_code
        == 404
    )
    read_all = {"csrf_token": token, "up_to": str(secret)}
    assert client.post("/me/notifications/read", data=read_all).status_code == 302
    with app.app_context():
        assert unread_count(victim) == 1


def test_badge_is_not_on_staff_pages(app: Flask, admin_client, make_distributor) -> None:
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "notification-badge" not in html


def test_outbox_emails_each_notification_once(
    app: Flask, make_distributor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "PORTAL_MAIL_SENDER", "file")
    monkeypatch.setitem(app.config, "PORTAL_MAIL_FILE", str(outbox))
    me, _ = make_distributor("mailme@shop.example")
    _add(app, me, NotificationKind.LEVEL_UP, level="Gold")
    with app.app_context():
        assert mail.deliver_emails() == 1
        assert mail.deliver_emails() == 0
    text = outbox.read_text()
    assert text.count("To: mailme@shop.example") == 1
    assert "Subject: You reached a new level" in text and "Gold" in text


def test_a_failing_mail_server_keeps_the_email_for_the_next_run(
    app: Flask, make_distributor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PORTAL_MAIL_SENDER", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", 9)  # discard port: nothing listens
    me, _ = make_distributor("later@shop.example")
    notification_id = _add(app, me, NotificationKind.APPROVED)
    with app.app_context():
        assert mail.deliver_emails() == 0
        assert db.session.get(Notification, notification_id).emailed_at is None


def test_commissions_that_became_available_are_announced_once(app: Flask, make_distributor) -> None:
    seller, _ = make_distributor("seller@shop.example")
    later = utcnow() + timedelta(minutes=5)
    with app.app_context():
        assert notify_available_commissions(later) == 0  # the first run only places the cursor
    _earn(app, seller, "200.00", "8001")
    _earn(app, seller, "40.00", "8002")
    with app.app_context():
        assert notify_available_commissions(utcnow()) == 0  # too fresh: may still commit
        assert notify_available_commissions(later) == 1
        assert notify_available_commissions(later) == 0
        note = db.session.scalars(select(Notification)).one()
        assert note.kind is NotificationKind.COMMISSION_AVAILABLE
        assert (note.params["count"], D(note.params["amount"])) == (2, D("120.00"))
