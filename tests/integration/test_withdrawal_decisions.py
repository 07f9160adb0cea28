"""The withdrawals queue's reads and a decision over many rows
(portal.withdrawals.decisions), and the one code-or-name search, on the real database."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.distributors.models import Distributor
from portal.distributors.search import code_or_name
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.withdrawals import decisions, services
from portal.withdrawals.models import PayoutMethod, Withdrawal, WithdrawalState
from tests.money import add_account, balances, decide, earn, request, verify


def test_code_or_name_matches_the_code_in_any_case_or_part_of_the_name(
    app: Flask, make_distributor
) -> None:
    wang, wang_code = make_distributor("wang@shop.example", name="Wang 100%_Lei")
    make_distributor("li@shop.example", name="Li Na")
    with app.app_context():

        def found(search: str) -> set[int]:
            return set(db.session.scalars(select(Distributor.id).where(code_or_name(search))))

        assert found(wang_code.lower()) == {wang}
        assert found("ang 1") == {wang}
        assert found("100%_") == {wang} and found("%") == {wang}  # % and _ match themselves
        assert found("_") == {wang}
        assert found(wang_code[:-1]) == set()  # a code matches whole, not in part


def _three(app: Flask, make_distributor) -> tuple[list[int], str, list[int]]:
    jane, jane_code = make_distributor("jane@shop.example", name="Jane Roe")
    bob, _ = make_distributor("bob@shop.example", name="Bob Stone")
    earn(app, jane, "50.00", "1")
    earn(app, bob, "50.00", "2")
    bank = add_account(app, bob, PayoutMethod.BANK, "DE89370400440532013000", "Bank")
    ids = [
        request(app, jane, "20", add_account(app, jane)),
        request(app, jane, "10", add_account(app, jane, account="jane2@example.com")),
        request(app, bob, "20", bank),
    ]
    return [jane, bob], jane_code, ids


def test_the_queue_filters_by_state_method_and_distributor(
    app: Flask, plan, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    (jane, bob), jane_code, (first, second, third) = _three(app, make_distributor)
    decide(app, ops_id, second, "approve")
    with app.app_context():

        def ids(state: str, method: str = "", search: str = "") -> list[int]:
            return list(db.session.scalars(decisions.queue_query(state, method, search)))

        assert [w.id for w in ids("requested")] == [first, third]
        assert [w.id for w in ids("")] == [first, second, third]  # unknown: every state
        assert [w.id for w in ids("", "bank")] == [third]
        assert [w.id for w in ids("", "nonsense", jane_code.lower())] == [first, second]
        assert [w.id for w in ids("", "", "stone")] == [third]
        facts = decisions.row_facts(db.session.scalars(select(Withdrawal)).all())
        assert set(facts["distributors"]) == {jane, bob}
        assert set(facts) == {"distributors", "statement_numbers", "credit_errors", "paypal_items"}


def test_the_withdrawal_a_decision_is_about(app: Flask, plan, make_user, make_distributor) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    (jane, _bob), _code, (first, second, _third) = _three(app, make_distributor)
    decide(app, ops_id, second, "approve")
    with app.app_context():
        withdrawal, distributor = decisions.awaiting(first, "approve")
        assert (withdrawal.id, distributor.id) == (first, jane)
        assert decisions.awaiting(second, "approve") is None  # approved already
        assert decisions.awaiting(second, "reject") is not None
        with pytest.raises(services.NotFound):
            decisions.awaiting(first + 100, "approve")
        assert [w.id for w in decisions.decidable("pay", [first, second])] == [second]
        assert decisions.withdrawal(second).payout_account is not None
        assert decisions.withdrawal(first + 100) is None


def test_each_row_of_a_batch_has_its_own_fate(
    app: Flask, plan, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    (jane, bob), _code, (first, second, third) = _three(app, make_distributor)
    decide(app, ops_id, second, "approve")
    with app.app_context():
        ops = db.session.get(User, ops_id)
        outcome = decisions.decide_each("approve", [first, second, third, 999], ops)
        assert outcome.done == 2
        assert [withdrawal_id for withdrawal_id, _why in outcome.refused] == [second, 999]
        states = {w.id: w.state for w in db.session.scalars(select(Withdrawal))}
        assert states == {
            first: WithdrawalState.APPROVED,
            second: WithdrawalState.APPROVED,
            third: WithdrawalState.APPROVED,
        }
        refused = decisions.decide_each("pay", [first, second], ops, "")  # no reference
        assert refused.done == 0 and len(refused.refused) == 2
        paid = decisions.decide_each("pay", [first, second, third], ops, "BANK-7")
        assert paid.done == 3 and paid.refused == []
    assert balances(app, jane)[Bucket.PAID] == D("30.00")
    assert balances(app, bob)[Bucket.PAID] == D("20.00")
    assert verify(app) == []
