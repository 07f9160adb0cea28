"""Automatic payouts through the PayPal Payouts API, against the loopback PayPal of
``tests/paypal_loopback.py`` (its docstring is the contract, with PayPal's documentation):
OAuth2 client credentials, ``sender_batch_id`` as the idempotency key, a crash between
"batch stored" and "PayPal answered", retries, concurrent clicks, batch and item status
polled and received by verified webhook, reconciled into paid / returned through the
withdrawals' own steps, with the ledger verified after each story."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger.models import Bucket
from portal.notifications.models import Notification, NotificationKind
from portal.settings.models import Setting
from portal.withdrawals import paypal, services
from portal.withdrawals.models import (
    PayPalBatch,
    PayPalBatchState,
    PayPalEvent,
    PayPalItem,
    Statement,
    Withdrawal,
    WithdrawalState,
)
from tests import paypal_loopback
from tests.helpers import csrf_token, run_together
from tests.money import HX, add_account, balances, configure, decide, earn, request, signed_in
from tests.money import verify as ledger_verify


@pytest.fixture
def loopback(app: Flask, ops: int) -> Iterator[paypal_loopback.PayPal]:
    with paypal_loopback.serve() as server:
        app.config["PAYPAL_API_BASE"] = server.url
        paypal._tokens.clear()
        configure(
            app,
            ops,
            paypal_client_id=paypal_loopback.CLIENT_ID,
            paypal_client_secret=paypal_loopback.SECRET,
            paypal_webhook_id=paypal_loopback.WEBHOOK_ID,
        )
        yield server
        app.config.pop("PAYPAL_API_BASE", None)
        paypal._tokens.clear()


def approved(app: Flask, ops: int, distributor_id: int, amount: str, account: str) -> int:
    account_id = add_account(app, distributor_id, account=account)
    withdrawal = request(app, distributor_id, amount, account_id)
    decide(app, ops, withdrawal, "approve")
    return withdrawal


@pytest.fixture
def two(app: Flask, plan, make_distributor, ops) -> list[int]:
    """Two distributors with 50.00 available each, and an approved PayPal withdrawal of
    20.00 each."""
    ids = []
    for n, account in enumerate(("jane.doe@example.com", "13800138000"), start=1):
        distributor, _ = make_distributor(f"d{n}@shop.example")
        earn(app, distributor, "50.00", f"30{n}")
        ids.append(approved(app, ops, distributor, "20.00", account))
    return ids


def send(app: Flask, ops: int, ids: list[int]) -> paypal.SendResult:
    with app.app_context():
        return paypal.send(ids, db.session.get(User, ops))


def poll(app: Flask) -> None:
    with app.app_context():
        paypal.poll()


def states(app: Flask, ids: list[int]) -> list[WithdrawalState]:
    with app.app_context():
        return [db.session.get(Withdrawal, i).state for i in ids]


def batches(app: Flask) -> list[tuple[str, PayPalBatchState, str | None]]:
    with app.app_context():
        return [
            (b.sender_batch_id, b.state, b.payout_batch_id)
            for b in db.session.scalars(select(PayPalBatch).order_by(PayPalBatch.id))
        ]


def distributor_of(app: Flask, withdrawal_id: int) -> int:
    with app.app_context():
        return db.session.get(Withdrawal, withdrawal_id).distributor_id


def test_a_batch_is_sent_once_and_paid_through_the_pay_step(app: Flask, loopback, ops, two):
    result = send(app, ops, two)
    assert [b.state for b in result.batches] == [PayPalBatchState.SENT]
    assert loopback.posts == 1 and len(loopback.batches) == 1
    (batch,) = loopback.batches.values()
    # The request PayPal received, item by item.
    assert batch.header["sender_batch_id"].startswith("portal-")
    fields = ("sender_item_id", "recipient_type", "receiver")
    sent = sorted(
        (*(i["payout_item"][f] for f in fields), i["payout_item"]["amount"]["value"])
        for i in batch.items
    )
    assert sent == [
        (f"W{two[0]}", "EMAIL", "jane.doe@example.com", "20.00"),
        (f"W{two[1]}", "PHONE", "13800138000", "20.00"),
    ]
    assert states(app, two) == [WithdrawalState.APPROVED] * 2
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    with app.app_context():
        paid = db.session.get(Withdrawal, two[0])
        assert paid.reference.startswith("PayPal ")
        assert db.session.scalar(select(func.count(Statement.id))) == 2
        kinds = db.session.scalars(select(Notification.kind)).all()
        assert kinds.count(NotificationKind.WITHDRAWAL_PAID) == 2
    assert batches(app)[0][1] is PayPalBatchState.CLOSED
    assert balances(app, distributor_of(app, two[0])) == {
        Bucket.AVAILABLE: D("30.00"),
        Bucket.PAID: D("20.00"),
    }
    poll(app)  # nothing left to do, nothing done twice
    assert loopback.posts == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Statement.id))) == 2
    assert ledger_verify(app) == []


def test_a_crash_between_stored_and_answered_pays_once(app: Flask, loopback, ops, two):
    """PayPal creates the batch, then the connection drops before its answer (as a crash
    of the portal would lose it): the batch stays unknown; the retry sends the same
    sender_batch_id, PayPal answers "already exists" with a link to the original, and the
    portal follows it. One batch at PayPal, each withdrawal paid once."""
    loopback.drop_after_create = 1
    result = send(app, ops, two)
    assert [b.state for b in result.batches] == [PayPalBatchState.UNKNOWN]
    assert len(loopback.batches) == 1  # PayPal has it; the portal does not know
    first_id = batches(app)[0][0]
    # The retry: ops click again (a job would do the same).
    result = send(app, ops, two)
    assert [b.state for b in result.batches] == [PayPalBatchState.SENT]
    assert loopback.posts == 2 and len(loopback.batches) == 1
    assert [b[0] for b in batches(app)] == [first_id]
    assert batches(app)[0][2] == next(iter(loopback.batches))
    loopback.settle()
    poll(app)
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    with app.app_context():
        assert db.session.scalar(select(func.count(Statement.id))) == 2
    assert balances(app, distributor_of(app, two[1]))[Bucket.PAID] == D("20.00")
    assert ledger_verify(app) == []


def test_the_periodic_job_resends_what_got_no_answer(app: Flask, loopback, ops, two):
    loopback.fail_next = 1  # 503: "you can safely retry with the same sender_batch_id"
    send(app, ops, two)
    assert batches(app)[0][1] is PayPalBatchState.UNKNOWN and not loopback.batches
    loopback.drop_after_create = 1
    poll(app)  # created at PayPal, answer lost again
    assert batches(app)[0][1] is PayPalBatchState.UNKNOWN and len(loopback.batches) == 1
    poll(app)  # the duplicate answer places it
    assert batches(app)[0][1] is PayPalBatchState.SENT
    assert loopback.posts == 3 and len(loopback.batches) == 1
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    assert ledger_verify(app) == []


def test_a_crash_after_storing_before_sending_is_sent_by_the_job(
    app: Flask, loopback, ops, two
) -> None:
    with app.app_context():  # the process dies right after the commit of the batch
        withdrawals = paypal.payable(two)
        paypal._store_batch(withdrawals, db.session.get(User, ops))
    assert batches(app)[0][1] is PayPalBatchState.UNKNOWN and loopback.posts == 0
    poll(app)
    assert batches(app)[0][1] is PayPalBatchState.SENT and len(loopback.batches) == 1
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2


def test_the_same_answer_applied_twice_at_once_pays_once(app: Flask, loopback, ops, two):
    send(app, ops, two)
    loopback.settle()
    errors = run_together(app, paypal.poll, paypal.poll, paypal.process_events)
    assert errors == []
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    with app.app_context():
        assert db.session.scalar(select(func.count(Statement.id))) == 2
        paid = db.session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.WITHDRAWAL_PAID)
        ).all()
        assert len(paid) == 2
    assert ledger_verify(app) == []


def test_concurrent_clicks_store_and_send_one_batch(app: Flask, loopback, ops, two):
    errors = run_together(app, *[lambda: paypal.send(two, db.session.get(User, ops))] * 3)
    assert all(isinstance(e, ServiceError) for e in errors), errors
    assert len(batches(app)) == 1
    assert len(loopback.batches) == 1
    send(app, ops, two)  # and once more, afterwards: nothing new
    assert len(loopback.batches) == 1 and len(batches(app)) == 1
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    assert ledger_verify(app) == []


def test_a_failed_item_returns_the_money_and_says_why(app: Flask, loopback, ops, two):
    loopback.outcomes["jane.doe@example.com"] = "FAILED"  # RECEIVER_UNREGISTERED
    send(app, ops, two)
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.REJECTED, WithdrawalState.PAID]
    failed = distributor_of(app, two[0])
    assert balances(app, failed) == {Bucket.AVAILABLE: D("50.00")}
    with app.app_context():
        withdrawal = db.session.get(Withdrawal, two[0])
        assert "No PayPal account is registered to your payout address" in withdrawal.reason
        note = db.session.scalar(
            select(Notification).where(Notification.kind == NotificationKind.WITHDRAWAL_RETURNED)
        )
        assert note.distributor_id == failed
        assert note.params["code"] == "RECEIVER_UNREGISTERED"
        from portal.notifications.services import message

        with app.test_request_context():
            assert "back in your available balance" in message(note)
        item = db.session.scalar(select(PayPalItem).where(PayPalItem.withdrawal_id == two[0]))
        assert item.claim is None and item.final
    # The distributor may ask again; the money is theirs to withdraw.
    assert ledger_verify(app) == []


def test_manual_decisions_wait_for_paypal(app: Flask, loopback, ops, two):
    send(app, ops, two)
    with app.app_context():
        actor = db.session.get(User, ops)
        with pytest.raises(services.WithdrawalError, match="PayPal is paying"):
            services.pay(two[0], actor, "BANK-1")
        with pytest.raises(services.WithdrawalError, match="PayPal is paying"):
            services.reject(two[0], actor, "changed my mind")
    assert states(app, two) == [WithdrawalState.APPROVED] * 2


def _deliver(app: Flask, server: paypal_loopback.PayPal, event: dict, **changes):
    body = json.dumps(event)
    headers = server.sign(body)
    headers.update(changes)
    return app.test_client().post("/paypal/webhook", data=body, headers=headers)


def test_webhooks_are_verified_stored_once_and_applied(app: Flask, loopback, ops, two):
    send(app, ops, two)
    loopback.outcomes["13800138000"] = "UNCLAIMED"
    changed = loopback.settle()
    paid_item = next(i for i in changed if i["transaction_status"] == "SUCCESS")
    unclaimed = next(i for i in changed if i["transaction_status"] == "UNCLAIMED")
    event = loopback.event(paid_item)
    assert event["event_type"] == "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"
    # A forged delivery: the signature is of another body.
    forged = dict(event, id="WH-FORGED")
    body = json.dumps(forged)
    headers = loopback.sign(json.dumps(event))
    answer = app.test_client().post("/paypal/webhook", data=body, headers=headers)
    assert answer.status_code == 400
    assert _deliver(app, loopback, event).status_code == 200
    assert _deliver(app, loopback, event).get_json() == {"status": "duplicate"}
    assert states(app, two) == [WithdrawalState.PAID, WithdrawalState.APPROVED]
    assert _deliver(app, loopback, loopback.event(unclaimed)).status_code == 200
    assert states(app, two)[1] is WithdrawalState.APPROVED  # unclaimed: still waiting
    returned = loopback.set_item(unclaimed["payout_item_id"], "RETURNED")
    assert _deliver(app, loopback, loopback.event(returned)).status_code == 200
    assert states(app, two) == [WithdrawalState.PAID, WithdrawalState.REJECTED]
    with app.app_context():
        assert db.session.scalar(select(func.count(PayPalEvent.id))) == 3
        assert (
            db.session.scalar(
                select(func.count(PayPalEvent.id)).where(PayPalEvent.processed_at.is_(None))
            )
            == 0
        )
        reason = db.session.get(Withdrawal, two[1]).reason
        assert "not claimed within 30 days" in reason
    assert ledger_verify(app) == []


def test_a_batch_webhook_places_a_batch_whose_answer_was_lost(app: Flask, loopback, ops, two):
    loopback.drop_after_create = 1
    send(app, ops, two)
    assert batches(app)[0][1] is PayPalBatchState.UNKNOWN
    loopback.settle()
    (payout_batch_id,) = loopback.batches
    assert _deliver(app, loopback, loopback.batch_event(payout_batch_id)).status_code == 200
    assert batches(app)[0][1:] == (PayPalBatchState.CLOSED, payout_batch_id)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    assert loopback.posts == 1 and ledger_verify(app) == []


def test_a_webhook_without_headers_or_configuration_is_refused(app: Flask, loopback, ops):
    client = app.test_client()
    event = {"id": "WH-1", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": {}}
    assert client.post("/paypal/webhook", json=event).status_code == 400
    assert (
        client.post("/paypal/webhook", data=b"not json", headers=loopback.sign("x")).status_code
        == 400
    )
    configure(app, ops, paypal_webhook_id="")
    assert _deliver(app, loopback, event).status_code == 401  # PayPal will retry
    with app.app_context():
        assert db.session.scalar(select(func.count(PayPalEvent.id))) == 0


def test_the_token_is_cached_and_fetched_again_after_401(app: Flask, loopback, ops, two):
    send(app, ops, [two[0]])
    send(app, ops, [two[1]])
    assert loopback.token_requests == 1
    loopback.revoke_tokens()  # PayPal now answers the cached token 401
    poll(app)
    assert loopback.token_requests == 2
    assert [b[1] for b in batches(app)] == [PayPalBatchState.SENT] * 2


def test_wrong_credentials_send_nothing_and_keep_the_batch(app: Flask, loopback, ops, two):
    configure(app, ops, paypal_client_secret="wrong-secret")
    result = send(app, ops, two)
    assert result.batches[0].state is PayPalBatchState.UNKNOWN
    assert "invalid_client" in result.batches[0].error
    assert loopback.posts == 0
    configure(app, ops, paypal_client_secret=paypal_loopback.SECRET)
    poll(app)
    assert batches(app)[0][1] is PayPalBatchState.SENT and loopback.posts == 1


def test_a_refused_batch_releases_its_withdrawals(app: Flask, loopback, ops, two):
    loopback.balance = D("10")  # INSUFFICIENT_FUNDS: PayPal creates nothing
    result = send(app, ops, two)
    assert result.batches[0].state is PayPalBatchState.REFUSED
    assert "INSUFFICIENT_FUNDS" in result.batches[0].error
    with app.app_context():
        (item,) = paypal.items_for([two[0]]).values()
        assert paypal.item_status(item) == "REFUSED"
    assert states(app, two) == [WithdrawalState.APPROVED] * 2
    with app.app_context():  # and they can be decided by hand again
        assert (
            db.session.scalar(select(func.count(PayPalItem.id)).where(PayPalItem.claim.isnot(None)))
            == 0
        )
    loopback.balance = D("1000")
    result = send(app, ops, two)  # a new attempt, a new id
    assert result.batches[0].state is PayPalBatchState.SENT
    first, second = batches(app)
    assert first[0].rsplit("-", 1)[0] == second[0].rsplit("-", 1)[0]
    assert (first[0][-2:], second[0][-2:]) == ("-1", "-2")
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    assert ledger_verify(app) == []


def test_a_denied_batch_pays_nothing_and_can_be_sent_again(app: Flask, loopback, ops, two):
    loopback.deny_next = True
    send(app, ops, two)
    poll(app)
    assert batches(app)[0][1] is PayPalBatchState.CLOSED
    assert states(app, two) == [WithdrawalState.APPROVED] * 2
    with app.app_context():
        (item,) = paypal.items_for([two[0]]).values()
        assert paypal.item_status(item) == "DENIED" and item.claim is None
    send(app, ops, two)
    loopback.settle()
    poll(app)
    assert states(app, two) == [WithdrawalState.PAID] * 2
    assert len(loopback.batches) == 2 and ledger_verify(app) == []


def test_a_reversal_after_payment_is_flagged_not_booked(app: Flask, loopback, ops, two):
    send(app, ops, two)
    (item, _other) = loopback.settle()
    poll(app)
    before = balances(app, distributor_of(app, two[0]))
    reversed_item = loopback.set_item(item["payout_item_id"], "REVERSED")
    assert _deliver(app, loopback, loopback.event(reversed_item)).status_code == 200
    assert balances(app, distributor_of(app, two[0])) == before
    with app.app_context():
        flagged = db.session.scalar(select(PayPalItem).where(PayPalItem.attention.is_(True)))
        assert flagged.withdrawal_id == two[0]
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "payout.paypal_attention"
                )
            )
            == 1
        )
    assert ledger_verify(app) == []


# --- settings and pages ----------------------------------------------------------------


def test_the_secret_is_stored_encrypted_and_never_shown(app: Flask, loopback, make_user):
    make_user("admin@shop.example", Role.ADMIN)
    client = signed_in(app, "admin@shop.example")
    with app.app_context():
        stored = db.session.get(Setting, "paypal_client_secret").value
        assert paypal_loopback.SECRET not in json.dumps(stored)
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == "paypal_client_secret")
        ).all()
        assert audit and paypal_loopback.SECRET not in json.dumps([a.after for a in audit])
    page = client.get("/admin/settings")
    assert page.status_code == 200
    assert paypal_loopback.SECRET not in page.get_data(as_text=True)
    assert paypal_loopback.CLIENT_ID in page.get_data(as_text=True)
    assert "A secret is stored." in page.get_data(as_text=True)
    # Saving the page with the secret left empty keeps it.
    from tests.helpers import csrf_from

    html = page.get_data(as_text=True)
    with app.app_context():
        from portal.settings import services as settings

        values = settings.all_values()
    form = {
        k: ("y" if v is True else str(v))
        for k, v in values.items()
        if v is not False and k not in ("paypal_client_secret", "recruitment_terms")
    }
    form.update(csrf_token=csrf_from(html), paypal_client_secret="", paypal_sandbox="y")
    answer = client.post("/admin/settings", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with app.app_context():
        assert paypal.credentials().secret == paypal_loopback.SECRET


def test_send_with_paypal_on_the_withdrawals_page(app: Flask, loopback, ops, two):
    client = signed_in(app, "ops@shop.example")
    page = client.get("/admin/withdrawals?state=approved").get_data(as_text=True)
    assert "Send with PayPal" in page
    token = csrf_token(client, "/admin/withdrawals")
    path = f"/admin/withdrawals/{two[0]}/paypal"
    # Without htmx: the confirm page, then a redirect with the outcome.
    asked = client.post(path, data={"csrf_token": token})
    assert asked.status_code == 200 and "Send 1 withdrawal with PayPal?" in asked.get_data(
        as_text=True
    )
    assert not loopback.batches
    done = client.post(path, data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302
    assert len(loopback.batches) == 1
    queue = client.get("/admin/withdrawals?state=approved").get_data(as_text=True)
    assert "1 withdrawal sent with PayPal." in queue
    assert "PayPal: pending" in queue
    # With htmx: the row comes back, in place.
    row = client.post(
        f"/admin/withdrawals/{two[1]}/paypal",
        data={"csrf_token": token, "confirmed": "1"},
        headers=HX,
    )
    assert row.status_code == 200
    html = row.get_data(as_text=True)
    assert html.lstrip().startswith("<tr") and "PayPal: pending" in html
    assert "Mark paid" not in html  # PayPal's answer decides
    # The batch action sends the selection too (already sent: nothing new).
    answer = client.post(
        "/admin/withdrawals/batch",
        data={
            "csrf_token": token,
            "action": "paypal",
            "ids": [str(i) for i in two],
            "confirmed": "1",
        },
    )
    assert answer.status_code == 302 and len(loopback.batches) == 2
    flashed = client.get("/admin/withdrawals?state=approved").get_data(as_text=True)
    assert "1 withdrawal was already sent with PayPal; its answer decides." in flashed
    # A withdrawal PayPal cannot take gets no question, only the reason.
    other = approved(app, ops, distributor_of(app, two[0]), "10.00", "x@example.com")
    decide(app, ops, other, "reject", "Asked by mistake")
    refused = client.post(f"/admin/withdrawals/{other}/paypal", data={"csrf_token": token})
    assert refused.status_code == 302
    flashed = client.get("/admin/withdrawals?state=rejected").get_data(as_text=True)
    assert "None of the selected withdrawals is an approved PayPal withdrawal." in flashed
    assert len(loopback.batches) == 2


def test_distributors_cannot_send(app: Flask, loopback, two):
    client = signed_in(app, "d1@shop.example")
    token = csrf_token(client, "/me/withdrawals")
    answer = client.post(
        f"/admin/withdrawals/{two[0]}/paypal", data={"csrf_token": token, "confirmed": "1"}
    )
    assert answer.status_code in (302, 403, 404)
    assert not loopback.batches


def test_webhooks_and_the_poll_run_in_a_real_worker(
    app: Flask, app_config, redis_url: str, instance_path: str, loopback, ops, two
) -> None:
    """With Redis, the webhook only stores and enqueues; ``portal worker`` (its own
    process, its own token) applies the event and runs the poll against the loopback."""
    from portal import create_app, jobs
    from tests.helpers import burst_worker, worker_env

    send(app, ops, two)
    paid_item, _other = loopback.settle()
    queued = create_app({**app_config, "REDIS_URL": redis_url, "PAYPAL_API_BASE": loopback.url})
    body = json.dumps(loopback.event(paid_item))
    answer = queued.test_client().post("/paypal/webhook", data=body, headers=loopback.sign(body))
    assert answer.status_code == 200
    assert states(app, two) == [WithdrawalState.APPROVED] * 2  # stored and queued only
    with queued.app_context():
        jobs.enqueue(paypal.poll, queue=jobs.BACKGROUND, timeout=300)
    env = worker_env(app_config, redis_url, instance_path)
    env["PAYPAL_API_BASE"] = loopback.url
    result = burst_worker(env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert states(app, two) == [WithdrawalState.PAID] * 2
    with app.app_context():
        assert db.session.scalar(select(func.count(Statement.id))) == 2
    assert loopback.token_requests == 2  # one per process: this one (web too), the worker
    assert ledger_verify(app) == []
