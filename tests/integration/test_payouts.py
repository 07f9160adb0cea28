"""The ops side of withdrawals: the queue, decisions per row and in batches, payout files,
auto-approval and the daily limit — the whole money lifecycle through the pages."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal as D

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.accounts.models import Role
from portal.audit.models import AuditEntry
from portal.commissions.models import CommissionState
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.withdrawals import services
from portal.withdrawals.models import PayoutMethod, Withdrawal, WithdrawalState
from tests.helpers import csrf_token, run_together
from tests.money import (
    HX,
    account_of,
    add_account,
    balances,
    commission_states,
    configure,
    decide,
    earn,
    request,
    signed_in,
    verify,
)


def staff(app: Flask, make_user) -> FlaskClient:
    make_user("ops@shop.example", Role.OPS)
    return signed_in(app, "ops@shop.example")


def decide_on_page(client: FlaskClient, withdrawal_id: int, action: str, note: str = ""):
    """A decision in the queue's row, confirmed (the confirm step has its own tests)."""
    token = csrf_token(client, "/admin/withdrawals")
    return client.post(
        f"/admin/withdrawals/{withdrawal_id}/{action}",
        data={"csrf_token": token, "note": note, "confirmed": "1"},
        headers=HX,
    )


def state_of(app: Flask, withdrawal_id: int) -> WithdrawalState:
    with app.app_context():
        return db.session.get(Withdrawal, withdrawal_id).state


def test_the_whole_lifecycle_through_the_pages(app: Flask, seller, make_user) -> None:
    distributor = signed_in(app, "seller@shop.example")
    token = csrf_token(distributor, "/me/withdrawals/accounts")
    added = distributor.post(
        "/me/withdrawals/accounts",
        data={
            "csrf_token": token,
            "method": "paypal",
            "holder_name": "Jane Doe",
            "account": "jane@example.com",
        },
    )
    assert added.status_code in (200, 302)
    account_id = account_of(app, seller)
    token = csrf_token(distributor, "/me/withdrawals")
    requested = distributor.post(
        "/me/withdrawals",
        data={"csrf_token": token, "amount": "40", "payout_account_id": str(account_id)},
    )
    assert requested.status_code in (200, 302)
    with app.app_context():
        withdrawal_id = db.session.scalar(select(Withdrawal.id))
    ops = staff(app, make_user)
    listing = ops.get("/admin/withdrawals").get_data(as_text=True)
    assert f'id="withdrawal-{withdrawal_id}"' in listing and "j•••@example.com" in listing

    approved = decide_on_page(ops, withdrawal_id, "approve")
    assert approved.status_code == 200
    row = approved.get_data(as_text=True)
    assert f'<tr id="withdrawal-{withdrawal_id}"' in row
    assert "Approved" in row and "<html" not in row

    token = csrf_token(ops, "/admin/withdrawals")
    exported = ops.post(
        "/admin/withdrawals/batch",
        data={"csrf_token": token, "action": "export:paypal", "ids": [str(withdrawal_id)]},
    )
    assert exported.mimetype == "text/csv"
    (line,) = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert line[:4] == ["jane@example.com", "40.00", "USD", f"W{withdrawal_id}"]

    paid = ops.post(
        "/admin/withdrawals/batch",
        data={
            "csrf_token": token,
            "action": "pay",
            "note": "PP-BATCH-7",
            "ids": [withdrawal_id],
            "confirmed": "1",
        },
    )
    assert paid.status_code == 302
    assert state_of(app, withdrawal_id) is WithdrawalState.PAID
    assert balances(app, seller) == {Bucket.AVAILABLE: D("10.00"), Bucket.PAID: D("40.00")}
    assert verify(app) == []
    history = distributor.get("/me/withdrawals").get_data(as_text=True)
    assert "Paid" in history
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"withdrawal.approve", "payout.export", "withdrawal.pay"} <= actions


def test_a_double_click_on_approve_books_once(app: Flask, seller, make_user) -> None:
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    ops = staff(app, make_user)
    first = decide_on_page(ops, withdrawal_id, "approve")
    second = decide_on_page(ops, withdrawal_id, "approve")
    assert (first.status_code, second.status_code) == (200, 409)
    assert "Not possible" in second.get_data(as_text=True)
    with app.app_context():
        approvals = select(func.count()).where(AuditEntry.action == "withdrawal.approve")
        assert db.session.scalar(approvals) == 1
    assert verify(app) == []


def test_reject_needs_a_reason_and_shows_it_escaped(app: Flask, seller, make_user) -> None:
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    ops = staff(app, make_user)
    assert decide_on_page(ops, withdrawal_id, "reject").status_code == 409
    assert state_of(app, withdrawal_id) is WithdrawalState.REQUESTED
    reason = '<script>alert("x")</script>'
    rejected = decide_on_page(ops, withdrawal_id, "reject", reason)
    assert rejected.status_code == 200
    for page in (
        rejected.get_data(as_text=True),
        ops.get("/admin/withdrawals?state=rejected").get_data(as_text=True),
        signed_in(app, "seller@shop.example").get("/me/withdrawals").get_data(as_text=True),
    ):
        assert reason not in page and "&lt;script&gt;" in page
    assert balances(app, seller) == {Bucket.AVAILABLE: D("50.00")}


def test_approval_is_refused_while_refunds_leave_available_negative(
    app: Flask, seller, make_user
) -> None:
    withdrawal_id = request(app, seller, "50", add_account(app, seller))
    earn(app, seller, "50.00", "1001", refunded="30")  # the earning order is part-refunded
    assert balances(app, seller)[Bucket.AVAILABLE] < 0
    ops = staff(app, make_user)
    refused = decide_on_page(ops, withdrawal_id, "approve")
    assert refused.status_code == 409 and "claw back" in refused.get_data(as_text=True)
    assert state_of(app, withdrawal_id) is WithdrawalState.REQUESTED
    assert decide_on_page(ops, withdrawal_id, "reject", "refund").status_code == 200
    assert verify(app) == []


def test_auto_approval_below_the_threshold(app: Flask, seller, make_user) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    configure(app, admin_id, withdrawal_auto_approve_below=D("15"))
    account = add_account(app, seller)
    small, large = request(app, seller, "15", account), request(app, seller, "20", account)
    assert (state_of(app, small), state_of(app, large)) == (
        WithdrawalState.APPROVED,
        WithdrawalState.REQUESTED,
    )
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.target_id == str(small)))
        assert entry.action == "withdrawal.auto_approve" and entry.actor_id is None


def test_the_daily_limit_counts_what_was_requested_today(app: Flask, seller, make_user) -> None:
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    configure(app, admin_id, withdrawal_daily_limit=D("30"))
    account = add_account(app, seller)
    first = request(app, seller, "20", account)
    try:
        request(app, seller, "15", account)
    except services.WithdrawalError as exc:
        assert exc.field == "amount" and "10.00" in exc.message
    else:
        raise AssertionError("the daily limit let 35 through")
    decide(app, admin_id, first, "reject", "wrong account")  # rejected ones don't count
    assert state_of(app, request(app, seller, "30", account)) is WithdrawalState.REQUESTED


def test_batch_actions_skip_what_cannot_be_done(app: Flask, seller, make_user) -> None:
    bank = add_account(app, seller, PayoutMethod.BANK, "DE89370400440532013000", "GLS")
    one, two = request(app, seller, "10", bank), request(app, seller, "10", bank)
    ops = staff(app, make_user)
    token = csrf_token(ops, "/admin/withdrawals")
    none_approved = ops.post(
        "/admin/withdrawals/batch",
        data={"csrf_token": token, "action": "export:bank", "ids": [one, two]},
    )
    assert none_approved.status_code == 302  # nothing approved yet: a message, no file
    decide_on_page(ops, one, "approve")
    exported = ops.post(
        "/admin/withdrawals/batch",
        data={"csrf_token": token, "action": "export:bank", "ids": [one, two]},
    )
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "beneficiary_name" and len(rows) == 2
    assert rows[1][:6] == ["Jane Doe", "DE89370400440532013000", "GLS", "10.00", "USD", f"W{one}"]
    batch = {"csrf_token": token, "action": "pay", "note": "SEPA-1", "ids": [one, two]}
    asked = ops.post("/admin/withdrawals/batch", data=batch).get_data(as_text=True)
    assert "Mark 1 withdrawal paid?" in asked and "SEPA-1" in asked and "$10.00" in asked
    assert "1 selected withdrawal is in another state and is skipped." in asked
    assert asked.count('name="ids"') == 2  # both go through again; the service skips one
    assert state_of(app, one) is WithdrawalState.APPROVED  # asked, nothing done yet
    ops.post("/admin/withdrawals/batch", data={**batch, "confirmed": "1"})
    assert (state_of(app, one), state_of(app, two)) == (
        WithdrawalState.PAID,
        WithdrawalState.REQUESTED,
    )
    assert commission_states(app, seller) == [(D("50.00"), CommissionState.AVAILABLE)]
    assert verify(app) == []


def test_fifty_concurrent_requests_and_decisions_keep_the_ledger_sound(
    app: Flask, plan, make_distributor, make_user
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    sellers = []
    for n in range(5):
        distributor_id, _ = make_distributor(f"s{n}@shop.example")
        earn(app, distributor_id, "100.00", f"90{n}")
        sellers.append((distributor_id, add_account(app, distributor_id)))
    open_ids = [request(app, d, "10", a) for d, a in sellers for _ in range(2)]
    rng = random.Random(5)
    calls = []
    for n in range(50):
        kind = n % 3
        if kind == 0:
            distributor_id, account_id = sellers[n % 5]
            calls.append(lambda d=distributor_id, a=account_id: request(app, d, "15", a))
        else:
            target = rng.choice(open_ids)
            step = "approve" if kind == 1 else "reject"
            calls.append(lambda t=target, s=step: decide(app, ops_id, t, s, "no"))
    errors = run_together(app, *calls)
    expected = (ServiceError, OperationalError)  # refusals; SQLite lock waits
    assert all(isinstance(e, expected) for e in errors), errors
    assert verify(app) == []
    for distributor_id, _ in sellers:
        money = balances(app, distributor_id)
        assert money.get(Bucket.AVAILABLE, D(0)) >= 0
        with app.app_context():
            open_total = db.session.scalar(
                select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(
                    Withdrawal.distributor_id == distributor_id,
                    Withdrawal.state.in_([WithdrawalState.REQUESTED, WithdrawalState.APPROVED]),
                )
            )
        assert money.get(Bucket.WITHDRAWING, D(0)) == D(open_total)
