"""No distributor ever reaches another distributor's objects: every /me URL that names an
object, built from the URL map with the ids of someone else's objects, answers 404."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from flask import Flask
from werkzeug.routing import Rule

from portal.accounts.models import User
from portal.commissions import services as commissions
from portal.extensions import db
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from portal.timeutil import utcnow
from portal.withdrawals import services as withdrawals
from portal.withdrawals import statements
from portal.withdrawals.models import PayoutMethod
from tests import factories
from tests.helpers import csrf_token, login

# URL arguments that name a distributor's own object. A new /me route with another
# argument fails the test below until its ownership is covered here.
OWNED_ARGUMENTS = {
    "order_id",
    "withdrawal_id",
    "account_id",
    "notification_id",
    "number",
    "round_id",  # a group-buy round of another leader
}
# Arguments naming shared things: the shop's catalogue, the campaigns and the published
# materials are the same for everyone (a campaign one is not eligible for, or a material
# not published, is 404 anyway).
SHARED_ARGUMENTS = {"product_id", "campaign_id", "material_id"}


def _victim_objects(app: Flask, distributor_id: int, admin_id: int) -> dict[str, int]:
    """An order with commission, a payout account, a paid withdrawal with its statement and
    a requested one, made the real way."""
    now = utcnow() - timedelta(days=30)
    with app.app_context():
        factories.add_plan("50")
        order_id = factories.book(
            factories.order(distributor_id, "9001", "200.00", at=now, status="completed")
        )
        commissions.mature_commissions(utcnow())
        account = withdrawals.add_account(
            distributor_id, PayoutMethod.PAYPAL, "Victim", "victim@example.com"
        )
        admin = db.session.get(User, admin_id)
        paid = withdrawals.request_withdrawal(distributor_id, D("20"), account.id)
        withdrawals.approve(paid.id, admin)
        withdrawals.pay(paid.id, admin, "REF-1")
        statement = statements.for_withdrawal(paid.id)
        withdrawal = withdrawals.request_withdrawal(distributor_id, D("30"), account.id)
        notification = notify(distributor_id, NotificationKind.LEVEL_UP, {"level": "Gold"})
        db.session.commit()
        return {
            "notification_id": notification.id,
            "order_id": order_id,
            "account_id": account.id,
            "withdrawal_id": withdrawal.id,
            "number": statement.number,
        }


def _me_rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/me") and r.arguments]


def test_every_me_url_with_someone_elses_object_is_404(
    app: Flask, make_distributor, make_user
) -> None:
    victim, _ = make_distributor("victim@shop.example")
    make_distributor("snoop@shop.example")
    ids = _victim_objects(app, victim, make_user("ops@shop.example"))
    client = app.test_client()
    assert login(client, "snoop@shop.example").status_code == 302
    token = csrf_token(client, "/me/")
    checked = 0
    for rule in _me_rules(app):
        unknown = set(rule.arguments) - OWNED_ARGUMENTS - SHARED_ARGUMENTS
        assert not unknown, f"{rule.rule}: add {unknown} to OWNED_ARGUMENTS or SHARED_ARGUMENTS"
        if not set(rule.arguments) & OWNED_ARGUMENTS:
            continue
        url = rule.build({name: ids.get(name, "1") for name in rule.arguments})[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url}"
            body = response.get_data(as_text=True)
            assert "victim@example.com" not in body and "Victim" not in body
            checked += 1
    assert checked >= 3  # order, withdrawal and account routes at least
    owner = app.test_client()
    login(owner, "victim@shop.example")
    assert owner.get(f"/me/orders/{ids['order_id']}").status_code == 200
    assert owner.get(f"/me/statements/{ids['number']}.pdf").status_code == 200
