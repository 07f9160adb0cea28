"""Withdrawals and payout accounts: requests debit the ledger under a lock, decisions move
the money on, paying marks commissions paid first in first out — on SQLite and PostgreSQL.

Balances come from real commissions: orders are stored, commissions applied and matured.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from portal.audit.models import AuditEntry
from portal.commissions.models import Commission, CommissionEvent, CommissionState
from portal.distributors.models import Distributor, DistributorStatus
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger.models import Bucket, LedgerEntry
from portal.withdrawals import services
from portal.withdrawals.models import PayoutAccount, PayoutMethod, Withdrawal, WithdrawalState
from tests.helpers import run_together
from tests.money import (
    HX,
    T0,
    account_of,
    add_account,
    balances,
    commission_states,
    configure,
    counts,
    decide,
    earn,
    post,
    request,
    signed_in,
    verify,
)

# --- fees -----------------------------------------------------------------------------


def test_fee_and_net_round_half_up_in_the_currency(app: Flask, make_user) -> None:
    admin = make_user("admin@shop.example")
    configure(app, admin, withdrawal_fee_percent=D("2.5"), withdrawal_fee_fixed=D("0"))
    with app.app_context():
        assert services.fee_for(D("1.00"), "USD") == D("0.03")  # 0.025 → up, not to even
        assert services.fee_for(D("100"), "JPY") == D("3")  # 2.5 → 3
        assert services.fee_for(D("1.000"), "KWD") == D("0.025")
    configure(app, admin, withdrawal_fee_percent=D("1.5"), withdrawal_fee_fixed=D("0.30"))
    with app.app_context():
        quote = services.quote(D("33.33"), "USD")  # 0.49995 + 0.30 = 0.79995 → 0.80
        assert (quote.fee, quote.net) == (D("0.80"), D("32.53"))
        assert services.quote(D("10.5"), "USD").amount == D("10.50")
        with pytest.raises(services.WithdrawalError) as refused:
            services.quote(D("0.30"), "USD")  # the fee takes it all
        assert refused.value.field == "amount"


# --- request, reject, pay -------------------------------------------------------------


def test_request_reject_and_pay_move_the_money(app: Flask, plan, make_distributor, ops) -> None:
    distributor_id, _ = make_distributor("seller@shop.example")
    earn(app, distributor_id, "100.00", "1001")
    account_id = add_account(app, distributor_id)
    configure(app, ops, withdrawal_fee_percent=D("1.5"))
    assert balances(app, distributor_id) == {Bucket.AVAILABLE: D("100.00")}

    first = request(app, distributor_id, "60", account_id)
    with app.app_context():
        row = db.session.get(Withdrawal, first)
        assert (row.state, row.amount, row.fee, row.net) == (
            WithdrawalState.REQUESTED,
            D("60.00"),
            D("0.90"),
            D("59.10"),
        )
    assert balances(app, distributor_id) == {
        Bucket.AVAILABLE: D("40.00"),
        Bucket.WITHDRAWING: D("60.00"),
    }
    assert verify(app) == []
    decide(app, ops, first, "approve")
    assert balances(app, distributor_id)[Bucket.WITHDRAWING] == D("60.00")
    assert verify(app) == []
    with pytest.raises(services.WithdrawalError) as no_reason:
        decide(app, ops, first, "reject", "  ")
    assert no_reason.value.field == "reason"
    decide(app, ops, first, "reject", "Account name does not match")
    assert balances(app, distributor_id) == {Bucket.AVAILABLE: D("100.00")}  # returned
    assert verify(app) == []

    second = request(app, distributor_id, "100", account_id)
    with pytest.raises(services.InvalidTransition):
        decide(app, ops, second, "pay")  # not approved yet
    decide(app, ops, second, "approve")
    with pytest.raises(services.InvalidTransition):
        decide(app, ops, second, "approve")
    decide(app, ops, second, "pay", "PP-7731")
    assert balances(app, distributor_id) == {Bucket.PAID: D("100.00")}
    assert verify(app) == []
    with pytest.raises(services.InvalidTransition):
        decide(app, ops, second, "reject", "too late")
    with pytest.raises(services.NotFound):
        decide(app, ops, 999_999, "approve")
    with app.app_context():
        paid = db.session.get(Withdrawal, second)
        assert (paid.state, paid.reference, paid.decided_by_id) == (
            WithdrawalState.PAID,
            "PP-7731",
            ops,
        )
        audit = [
            (e.action, e.before, e.after, e.actor_id)
            for e in db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.target_type == "withdrawal")
                .order_by(AuditEntry.id)
            )
        ]
    assert audit == [
        ("withdrawal.approve", {"state": "requested"}, {"state": "approved"}, ops),
        (
            "withdrawal.reject",
            {"state": "approved"},
            {"state": "rejected", "reason": "Account name does not match"},
            ops,
        ),
        ("withdrawal.approve", {"state": "requested"}, {"state": "approved"}, ops),
        ("withdrawal.pay", {"state": "approved"}, {"state": "paid", "reference": "PP-7731"}, ops),
    ]
    assert commission_states(app, distributor_id) == [(D("100.00"), CommissionState.PAID)]


def test_refusals_are_field_errors_and_write_nothing(app: Flask, seller) -> None:
    add_account(app, seller)
    client = signed_in(app, "seller@shop.example")
    before = counts(app)
    account_id = str(account_of(app, seller))
    for amount, message in (
        ("50.01", "You can withdraw at most $50.00."),
        ("9.99", "The minimum withdrawal is $10.00."),
        ("ten", "Not a valid decimal value"),
        ("NaN", "Not a valid decimal value"),
        ("-20", "Enter an amount above zero."),
        ("0", "Enter an amount above zero."),
        ("12.345", "Use at most 2 decimals for USD."),
        ("1e20", "That amount is too large."),
        ("1e30", "Not a valid decimal value"),
        ("", "This field is required."),
    ):
        for headers in ({}, HX):
            response = post(
                client, "/me/withdrawals", headers, amount=amount, payout_account_id=account_id
            )
            html = response.get_data(as_text=True)
            assert response.status_code == 400, amount
            assert 'id="amount-error"' in html and message in html, (amount, html)
            assert ("<html" in html) is not bool(headers)  # htmx gets the form alone
    assert counts(app) == before
    assert balances(app, seller) == {Bucket.AVAILABLE: D("50.00")}


def test_a_jpy_shop_takes_whole_yen(app: Flask, plan, make_distributor, make_user) -> None:
    admin = make_user("admin@shop.example")
    configure(app, admin, currency="JPY", min_withdrawal=D("1000"), withdrawal_fee_percent=D("2.5"))
    distributor_id, _ = make_distributor("seller@shop.example")
    earn(app, distributor_id, "5000", "J1", currency="JPY")
    account_id = add_account(app, distributor_id, PayoutMethod.ALIPAY, "+86 138 0013 8000")
    assert balances(app, distributor_id) == {Bucket.AVAILABLE: D("5000")}
    client = signed_in(app, "seller@shop.example")
    response = post(client, "/me/withdrawals", amount="1500.5", payout_account_id=str(account_id))
    assert response.status_code == 400
    assert "Amounts in JPY have no decimals." in response.get_data(as_text=True)
    with app.app_context(), pytest.raises(services.WithdrawalError) as refused:
        services.request_withdrawal(distributor_id, D("1500.50"), account_id)
    assert refused.value.field == "amount"
    assert counts(app)[0] == 0
    response = post(client, "/me/withdrawals", amount="1501", payout_account_id=str(account_id))
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(Withdrawal))
        assert (row.currency, row.amount, row.fee, row.net) == ("JPY", 1501, 38, 1463)  # 37.525
    assert balances(app, distributor_id) == {
        Bucket.AVAILABLE: D("3499"),
        Bucket.WITHDRAWING: D("1501"),
    }
    assert verify(app) == []


def test_removed_and_foreign_accounts_cannot_be_used(app: Flask, seller, make_distributor) -> None:
    other, _ = make_distributor("other@shop.example")
    foreign = add_account(app, other)
    mine = add_account(app, seller)
    with app.app_context():
        services.remove_account(seller, mine)
    for account_id in (mine, foreign, 424242):
        with app.app_context(), pytest.raises(services.WithdrawalError) as refused:
            services.request_withdrawal(seller, D("20"), account_id)
        assert refused.value.field == "payout_account_id"
    assert counts(app)[0] == 0


# --- commissions on payout ------------------------------------------------------------


def test_paying_marks_commissions_paid_first_in_first_out(
    app: Flask, plan, make_distributor, ops
) -> None:
    distributor_id, _ = make_distributor("seller@shop.example")
    # Stored in another order than they matured: FIFO follows hold_until, not ids.
    earn(app, distributor_id, "50.00", "A", completed_at=T0 + timedelta(days=3))
    earn(app, distributor_id, "30.00", "B", completed_at=T0 + timedelta(days=1))
    earn(app, distributor_id, "20.00", "C", completed_at=T0 + timedelta(days=2))
    account_id = add_account(app, distributor_id)

    def withdraw(amount: str) -> int:
        withdrawal_id = request(app, distributor_id, amount, account_id)
        decide(app, ops, withdrawal_id, "approve")
        decide(app, ops, withdrawal_id, "pay")
        return withdrawal_id

    first = withdraw("45")  # B (30) fits, B + C (50) would not
    assert commission_states(app, distributor_id) == [
        (D("30.00"), CommissionState.PAID),
        (D("20.00"), CommissionState.AVAILABLE),
        (D("50.00"), CommissionState.AVAILABLE),
    ]
    withdraw("40")  # paid 85: C fits (50), A would make 100
    assert [s for _, s in commission_states(app, distributor_id)] == [
        CommissionState.PAID,
        CommissionState.PAID,
        CommissionState.AVAILABLE,
    ]
    assert verify(app) == []
    withdraw("15")  # paid 100: A too
    assert {s for _, s in commission_states(app, distributor_id)} == {CommissionState.PAID}
    assert balances(app, distributor_id) == {Bucket.PAID: D("100.00")}
    with app.app_context():
        events = db.session.execute(
            select(CommissionEvent.from_state, CommissionEvent.to_state, CommissionEvent.reason)
            .join(Commission)
            .where(Commission.amount == D("30.00"), CommissionEvent.to_state == "paid")
        ).all()
        assert events == [("available", "paid", f"withdrawal:{first}")]
        kinds = set(db.session.scalars(select(LedgerEntry.kind).distinct()))
        assert kinds == {"accrual", "withdrawal"}  # no per-commission payout entries
    assert verify(app) == []


def test_a_refund_after_payout_is_carried_as_negative_available(
    app: Flask, plan, make_distributor, ops
) -> None:
    distributor_id, _ = make_distributor("seller@shop.example")
    earn(app, distributor_id, "100.00", "X")
    account_id = add_account(app, distributor_id)
    paid = request(app, distributor_id, "100", account_id)
    decide(app, ops, paid, "approve")
    decide(app, ops, paid, "pay")
    # The shop refunds line 1 (600.00 of 1000.00): commission 100 → 40, after payout.
    earn(app, distributor_id, "100.00", "X", refunded="600.00")
    assert commission_states(app, distributor_id) == [(D("40.00"), CommissionState.PAID)]
    assert balances(app, distributor_id) == {
        Bucket.PAID: D("100.00"),
        Bucket.AVAILABLE: D("-60.00"),
    }
    assert verify(app) == []
    with app.app_context(), pytest.raises(services.WithdrawalError) as refused:
        services.request_withdrawal(distributor_id, D("10"), account_id)
    assert "nothing available" in refused.value.message

    earn(app, distributor_id, "50.00", "Y", completed_at=T0 + timedelta(days=1))
    assert balances(app, distributor_id)[Bucket.AVAILABLE] == D("-10.00")  # absorbed
    with app.app_context(), pytest.raises(services.WithdrawalError):
        services.request_withdrawal(distributor_id, D("10"), account_id)
    earn(app, distributor_id, "30.00", "Z", completed_at=T0 + timedelta(days=2))
    with app.app_context(), pytest.raises(services.WithdrawalError) as refused:
        services.request_withdrawal(distributor_id, D("20.01"), account_id)
    assert "at most $20.00" in refused.value.message
    last = request(app, distributor_id, "20", account_id)
    decide(app, ops, last, "approve")
    decide(app, ops, last, "pay")
    # Paid 120 in all; the commissions now paid sum to 40 + 50 + 30 = 120.
    assert [s for _, s in commission_states(app, distributor_id)] == [CommissionState.PAID] * 3
    assert balances(app, distributor_id) == {Bucket.PAID: D("120.00")}
    assert verify(app) == []


# --- concurrency ----------------------------------------------------------------------


def test_twenty_parallel_requests_never_overdraw(app: Flask, seller) -> None:
    account_id = add_account(app, seller)
    available = balances(app, seller)[Bucket.AVAILABLE]
    amounts = [D("15"), D("11.50"), D("10"), D("12.25")] * 5

    def attempt(amount: D):
        return lambda: services.request_withdrawal(seller, amount, account_id)

    errors = run_together(app, *(attempt(a) for a in amounts))
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        requested = list(db.session.scalars(select(Withdrawal.amount)))
    # PostgreSQL queues on the row lock; SQLite may also give up waiting for its write lock.
    allowed = (ServiceError,) if postgres else (ServiceError, OperationalError)
    assert all(isinstance(e, allowed) for e in errors), errors
    assert len(requested) + len(errors) == len(amounts)
    assert requested and sum(requested) <= available
    if postgres:
        assert available - sum(requested) < min(amounts)  # it waited rather than refused
    after = balances(app, seller)
    assert after.get(Bucket.AVAILABLE, D(0)) >= 0
    assert after.get(Bucket.AVAILABLE, D(0)) + after[Bucket.WITHDRAWING] == available
    assert after[Bucket.WITHDRAWING] == sum(requested)
    assert verify(app) == []


def test_parallel_decisions_on_one_withdrawal_take_effect_once(app: Flask, seller, ops) -> None:
    account_id = add_account(app, seller)
    withdrawal_id = request(app, seller, "30", account_id)
    decide(app, ops, withdrawal_id, "approve")

    def step(name: str):
        return lambda: decide(app, ops, withdrawal_id, name, "PP-9" if name == "pay" else "No")

    errors = run_together(app, step("pay"), step("pay"), step("reject"), step("reject"))
    assert len(errors) == 3 and all(isinstance(e, services.InvalidTransition) for e in errors)
    with app.app_context():
        state = db.session.get(Withdrawal, withdrawal_id).state
        decisions = db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action != "withdrawal.approve")
        )
    assert decisions == 1
    if state is WithdrawalState.PAID:
        assert balances(app, seller) == {Bucket.AVAILABLE: D("20.00"), Bucket.PAID: D("30.00")}
    else:
        assert balances(app, seller) == {Bucket.AVAILABLE: D("50.00")}
    assert verify(app) == []


# --- payout accounts ------------------------------------------------------------------


def test_accounts_are_validated_per_method_and_masked(app: Flask) -> None:
    with app.app_context():
        norm = services.normalise_account
        assert norm(PayoutMethod.BANK, "DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
        assert norm(PayoutMethod.BANK, "6222-0212 3456 6789") == "6222021234566789"
        assert norm(PayoutMethod.PAYPAL, " Jane.Doe@Example.COM ") == "Jane.Doe@example.com"
        assert norm(PayoutMethod.ALIPAY, "+86 138-0013-8000") == "+8613800138000"
        assert norm(PayoutMethod.ALIPAY, "chen@example.cn") == "chen@example.cn"
        assert norm(PayoutMethod.WECHAT, "wxid_chen-88") == "wxid_chen-88"
        for method, bad in (
            (PayoutMethod.BANK, "DE88 3704 0044 0532 0130 00"),  # wrong check digits
            (PayoutMethod.BANK, "12345"),
            (PayoutMethod.BANK, "ACCOUNT 12"),
            (PayoutMethod.PAYPAL, "jane at example"),
            (PayoutMethod.ALIPAY, "138"),
            (PayoutMethod.WECHAT, "8chen_wei"),  # must start with a letter
            (PayoutMethod.WECHAT, "chen"),  # 6 at least
        ):
            with pytest.raises(services.WithdrawalError) as refused:
                norm(method, bad)
            assert refused.value.field == "account", bad
    assert services.mask("jane.doe@example.com") == "j•••@example.com"
    assert services.mask("DE89370400440532013000") == "•••• 3000"
    assert services.mask("6222021234566789") == "•••• 6789"
    assert services.mask("+8613800138000") == "•••• 8000"
    assert services.mask("chen88") == "•••• 88"  # short: two characters only


def test_adding_and_removing_accounts_through_the_pages(app: Flask, plan, make_distributor) -> None:
    distributor_id, _ = make_distributor("seller@shop.example")
    client = signed_in(app, "seller@shop.example")
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert "Add a payout account first" in page and 'id="withdrawal-form"' not in page

    response = post(
        client,
        "/me/withdrawals/accounts",
        method="bank",
        holder_name="Jane Doe",
        account="6222 0212 3456 6789",
    )
    assert response.status_code == 400
    assert 'id="bank_name-error"' in response.get_data(as_text=True)
    response = post(
        client,
        "/me/withdrawals/accounts",
        HX,
        method="paypal",
        holder_name="Jane Doe",
        account="nope",
    )
    assert response.status_code == 400
    assert "PayPal account" in response.get_data(as_text=True)
    response = post(
        client,
        "/me/withdrawals/accounts",
        method="bank",
        holder_name="Jane Doe",
        bank_name="ICBC",
        account="6222 0212 3456 6789",
    )
    assert response.status_code == 302
    response = post(
        client,
        "/me/withdrawals/accounts",
        HX,
        method="paypal",
        holder_name="Jane Doe",
        account="jane.doe@example.com",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="payout-accounts" hx-swap-oob="true"' in html
    assert "PayPal · j•••@example.com" in html
    listing = client.get("/me/withdrawals/accounts").get_data(as_text=True)
    assert "Bank transfer · ICBC · •••• 6789" in listing
    for raw in ("6222021234566789", "jane.doe@"):
        assert raw not in listing and raw not in client.get("/me/withdrawals").get_data(
            as_text=True
        )
    # The method select re-renders the form for its method (full page without htmx).
    form = client.get("/me/withdrawals/accounts?method=wechat&holder_name=Jane", headers=HX)
    fragment = form.get_data(as_text=True)
    assert "WeChat ID" in fragment and "bank_name" not in fragment and 'value="Jane"' in fragment
    assert "<html" in client.get("/me/withdrawals/accounts?method=wechat").get_data(as_text=True)

    with app.app_context():
        bank = db.session.scalar(
            select(PayoutAccount).where(PayoutAccount.method == PayoutMethod.BANK)
        )
    remove = f"/me/withdrawals/accounts/{bank.id}/remove"
    asked = post(client, remove, {**HX, "HX-Target": "payout-accounts"})
    dialog = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<dialog" in dialog and "<html" not in dialog
    assert asked.headers["HX-Retarget"] == "#confirm-dialog"
    assert "Remove the payout account Bank transfer · ICBC · •••• 6789?" in dialog
    assert 'hx-target="#payout-accounts"' in dialog and 'name="confirmed" value="1"' in dialog
    with app.app_context():
        assert db.session.get(PayoutAccount, bank.id).removed_at is None  # asked, not done
    response = post(client, remove, HX, confirmed="1")
    listing, message = response.get_data(as_text=True).split('<div id="flashes"')
    assert response.status_code == 200 and "ICBC" not in listing and "j•••@" in listing
    assert "Bank transfer · ICBC · •••• 6789 removed." in message
    assert post(client, remove).status_code == 404
    assert post(client, remove, confirmed="1").status_code == 404
    with app.app_context():
        assert db.session.get(PayoutAccount, bank.id).removed_at is not None
        assert [a.method for a in services.accounts(distributor_id)] == [PayoutMethod.PAYPAL]


# --- pages ----------------------------------------------------------------------------


def test_htmx_request_swaps_the_form_balance_and_history(app: Flask, seller) -> None:
    account_id = str(add_account(app, seller))
    client = signed_in(app, "seller@shop.example")
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert 'id="withdrawal-form"' in page and "$50.00" in page and "No withdrawals yet." in page
    assert 'hx-get="/me/withdrawals/fee"' in page and 'aria-live="polite"' in page

    response = post(client, "/me/withdrawals", HX, amount="20", payout_account_id=account_id)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<form id="withdrawal-form"')
    assert (
        'id="withdrawal-balance"' in html and 'id="withdrawal-history" hx-swap-oob="true"' in html
    )
    assert "Withdrawal of $20.00 requested." in html
    with app.app_context():
        withdrawal_id = db.session.scalar(select(Withdrawal.id))
    assert f'id="withdrawal-{withdrawal_id}"' in html and 'hx-trigger="every 5s"' in html

    response = post(client, "/me/withdrawals", amount="10", payout_account_id=account_id)
    assert response.status_code == 302 and response.headers["Location"] == "/me/withdrawals"
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert "Withdrawal of $10.00 requested." in page and "$20.00" in page
    assert balances(app, seller)[Bucket.AVAILABLE] == D("20.00")


def test_the_quote_shows_fee_and_limits_as_you_type(app: Flask, seller, make_user) -> None:
    admin = make_user("admin@shop.example")
    configure(app, admin, withdrawal_fee_percent=D("1.5"))
    client = signed_in(app, "seller@shop.example")

    def quote(amount: str | None) -> tuple[str, str]:
        query = "" if amount is None else f"?amount={amount}"
        html = client.get(f"/me/withdrawals/fee{query}", headers=HX).get_data(as_text=True)
        limits, result = re.findall(r'class="quote-(?:limits|result)">(.*?)</span>\n?', html)
        return limits, re.sub(r"<[^>]+>", "", result)

    limits = "Available $50.00 · minimum $10.00 · up to $50.00 now"
    assert quote("40") == (limits, "Fee $0.60 · you receive $39.40")
    assert quote("100") == (limits, "You can withdraw at most $50.00.")
    assert quote("999999") == (limits, "You can withdraw at most $50.00.")
    assert quote("5") == (limits, "The minimum withdrawal is $10.00.")
    assert quote("1.234")[1] == "Use at most 2 decimals for USD."
    assert quote("abc")[1] == "Not a valid decimal value."
    assert quote(None) == (limits, "Type an amount to see the fee and what you receive.")
    page = client.get("/me/withdrawals/fee?amount=40")
    assert "<html" in page.get_data(as_text=True) and "$39.40" in page.get_data(as_text=True)

    # The daily limit caps the maximum; "withdraw all" offers exactly that.
    configure(app, admin, withdrawal_daily_limit=D("30"))
    assert quote("35") == (
        "Available $50.00 · minimum $10.00 · up to $30.00 now",
        "The daily limit is $30.00; you can still request $30.00 today.",
    )
    add_account(app, seller)
    html = client.get("/me/withdrawals").get_data(as_text=True)
    assert 'data-fill="amount" data-value="30.00"' in html
    assert 'href="/me/withdrawals?amount=30.00"' in html and "Withdraw all ($30.00)" in html
    # Without JavaScript the link fills the form and quotes it on the page.
    filled = client.get("/me/withdrawals?amount=30.00").get_data(as_text=True)
    assert 'value="30.00"' in filled and "Fee $0.45 · you receive $29.55" in filled


def test_no_withdraw_all_below_the_minimum(app: Flask, plan, make_distributor) -> None:
    poor, _ = make_distributor("poor@shop.example")
    earn(app, poor, "5.00", "3001")
    add_account(app, poor)
    html = signed_in(app, "poor@shop.example").get("/me/withdrawals").get_data(as_text=True)
    assert "Available $5.00 · minimum $10.00 · up to $5.00 now" in html
    assert "Withdraw all" not in html


def test_open_rows_poll_and_see_the_state_change(app: Flask, seller, ops) -> None:
    account_id = add_account(app, seller)
    withdrawal_id = request(app, seller, "20", account_id)
    client = signed_in(app, "seller@shop.example")
    poll = f"/me/withdrawals/{withdrawal_id}?state=requested"
    unchanged = client.get(poll, headers=HX)
    assert unchanged.status_code == 204 and "HX-Request" in unchanged.headers["Vary"]
    decide(app, ops, withdrawal_id, "approve")
    changed = client.get(poll, headers=HX).get_data(as_text=True)
    assert changed.lstrip().startswith(f'<tr id="withdrawal-{withdrawal_id}"')
    assert "Approved" in changed and "state=approved" in changed  # polls on
    assert "is now: Approved" in changed  # announced in the live flash region
    decide(app, ops, withdrawal_id, "pay", "PP-1")
    paid = client.get(f"/me/withdrawals/{withdrawal_id}?state=approved", headers=HX)
    html = paid.get_data(as_text=True)
    assert "Paid" in html and "PP-1" in html and "hx-trigger" not in html  # polling stops
    page = client.get(f"/me/withdrawals/{withdrawal_id}").get_data(as_text=True)
    assert "<html" in page and "PP-1" in page and "PayPal · j•••@example.com" in page


def test_history_pages_without_n_plus_one(app: Flask, plan, make_distributor) -> None:
    distributor_id, _ = make_distributor("seller@shop.example")
    earn(app, distributor_id, "1000.00", "1001")
    account_ids = [
        add_account(app, distributor_id, PayoutMethod.WECHAT, f"wechat_{i}") for i in range(3)
    ]
    for i in range(30):
        request(app, distributor_id, "10", account_ids[i % 3])
    client = signed_in(app, "seller@shop.example")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/me/withdrawals").get_data(as_text=True)
        first = len(statements)
        statements.clear()
        second = client.get("/me/withdrawals?page=2", headers=HX).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.count('hx-trigger="every 5s"') == 25 and "Page 1 of 2" in page
    assert second.count("<tr id=") == 5 and "<html" not in second
    assert first <= 15, statements
    assert len(statements) <= 15, statements


# --- who may do what ------------------------------------------------------------------


def test_suspended_distributors_read_but_cannot_post(app: Flask, seller, ops) -> None:
    account_id = add_account(app, seller)
    request(app, seller, "20", account_id)
    with app.app_context():
        db.session.execute(
            update(Distributor)
            .where(Distributor.id == seller)
            .values(status=DistributorStatus.SUSPENDED)
        )
        db.session.commit()
    client = signed_in(app, "seller@shop.example")
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert "Your account is suspended" in page and 'id="withdrawal-form"' not in page
    assert "$20.00" in page  # the history is still there
    accounts_page = client.get("/me/withdrawals/accounts").get_data(as_text=True)
    assert 'id="payout-account-form"' not in accounts_page and "Remove" not in accounts_page
    for path, data in (
        ("/me/withdrawals", {"amount": "10", "payout_account_id": str(account_id)}),
        (
            "/me/withdrawals/accounts",
            {"method": "wechat", "holder_name": "J", "account": "wechat_1"},
        ),
        (f"/me/withdrawals/accounts/{account_id}/remove", {}),
    ):
        assert post(client, path, **data).status_code == 403, path
    with app.app_context(), pytest.raises(services.WithdrawalError) as refused:
        services.request_withdrawal(seller, D("10"), account_id)
    assert refused.value.field is None
    assert counts(app)[0] == 1


def test_another_distributors_ids_are_404(app: Flask, seller, make_distributor) -> None:
    other, _ = make_distributor("other@shop.example")
    earn(app, other, "50.00", "2001")
    theirs = add_account(app, other)
    their_withdrawal = request(app, other, "20", theirs)
    add_account(app, seller, PayoutMethod.WECHAT, "wechat_seller")
    client = signed_in(app, "seller@shop.example")
    for headers in ({}, HX):
        assert client.get(f"/me/withdrawals/{their_withdrawal}", headers=headers).status_code == 404
        poll = f"/me/withdrawals/{their_withdrawal}?state=requested"
        assert client.get(poll, headers=headers).status_code == 404
    assert post(client, f"/me/withdrawals/accounts/{theirs}/remove").status_code == 404
    assert (
        post(client, f"/me/withdrawals/accounts/{theirs}/remove", confirmed="1").status_code == 404
    )
    response = post(client, "/me/withdrawals", amount="20", payout_account_id=str(theirs))
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PayoutAccount, theirs).removed_at is None
        assert db.session.scalar(select(func.count(Withdrawal.id))) == 1
    html = client.get("/me/withdrawals").get_data(as_text=True)
    assert f"withdrawal-{their_withdrawal}" not in html
