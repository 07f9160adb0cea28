"""Money helpers for tests: real orders, commissions and withdrawals (no fake ledger rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.commissions import services as commissions
from portal.commissions.models import Commission, CommissionState
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, LedgerEntry
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.settings import services as settings
from portal.withdrawals import services
from portal.withdrawals.models import PayoutMethod, Withdrawal
from tests.helpers import csrf_token, login

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=60)  # every return window has passed
HX = {"HX-Request": "true"}


# --- helpers ------------------------------------------------------------------------


def earn(
    app: Flask,
    distributor_id: int,
    commission: str,
    shop_order_id: str,
    completed_at: datetime = T0,
    currency: str = "USD",
    refunded: str = "0",
) -> int:
    """Store a completed order earning ``commission`` (two lines, 60 % / 40 %) and apply
    it after the return window: the commission is available. Returns the order id."""
    total = D(commission) * 10
    data = OrderData(
        shop_order_id=shop_order_id,
        status="completed",
        currency=currency,
        created_at=completed_at,
        modified_at=completed_at + timedelta(minutes=int(D(refunded) > 0)),
        completed_at=completed_at,
        lines=(
            LineData("1", "P1", 1, total * D("0.6"), refunded_total=D(refunded)),
            LineData("2", "P2", 1, total * D("0.4")),
        ),
        customer_email="buyer@example.com",
        attribution=Attribution(distributor_id, "coupon", {"coupon": "X"}),
    )
    with app.app_context():
        order_id = orders.store_order(data).order_id
        commissions.apply_order(order_id, LATER)
        return order_id


def configure(app: Flask, actor_id: int, **values: object) -> None:
    with app.app_context():
        settings.update(values, db.session.get(User, actor_id))
        db.session.commit()


def add_account(
    app: Flask,
    distributor_id: int,
    method: PayoutMethod = PayoutMethod.PAYPAL,
    account: str = "jane.doe@example.com",
    bank_name: str | None = None,
) -> int:
    with app.app_context():
        return services.add_account(distributor_id, method, "Jane Doe", account, bank_name).id


def request(app: Flask, distributor_id: int, amount: str, account_id: int) -> int:
    with app.app_context():
        return services.request_withdrawal(distributor_id, D(amount), account_id).id


def decide(app: Flask, ops_id: int, withdrawal_id: int, step: str, note: str = "") -> None:
    with app.app_context():
        actor = db.session.get(User, ops_id)
        if step == "approve":
            services.approve(withdrawal_id, actor)
        elif step == "reject":
            services.reject(withdrawal_id, actor, note)
        else:
            services.pay(withdrawal_id, actor, note or "BANK-REF-1")


def balances(app: Flask, distributor_id: int) -> dict[Bucket, D]:
    with app.app_context():
        return {b: v for b, v in ledger.balances(distributor_id).items() if v}


def verify(app: Flask) -> list[str]:
    with app.app_context():
        return ledger.verify()


def counts(app: Flask) -> tuple[int, int]:
    """(withdrawals, ledger entries)."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count(Withdrawal.id))),
            db.session.scalar(select(func.count(LedgerEntry.id))),
        )


def commission_states(app: Flask, distributor_id: int) -> list[tuple[D, CommissionState]]:
    """(amount, state) of the distributor's commissions, first in first out."""
    with app.app_context():
        rows = db.session.scalars(
            select(Commission)
            .where(Commission.beneficiary_id == distributor_id)
            .order_by(Commission.hold_until, Commission.id)
        )
        return [(c.amount, c.state) for c in rows]


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def post(client: FlaskClient, path: str, headers: dict[str, str] | None = None, **data: str):
    token = csrf_token(client, "/me/withdrawals")
    return client.post(path, data={"csrf_token": token, **data}, headers=headers or {})


def account_of(app: Flask, distributor_id: int) -> int:
    with app.app_context():
        return services.accounts(distributor_id)[0].id
