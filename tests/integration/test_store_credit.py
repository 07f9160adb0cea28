"""Store credit in the shop, end to end against the loopback shop (tests/woo.py): chosen
on /me/withdrawals, the coupon created over REST once approved, spent by a smaller order
seen through the webhook (the rest becomes a new coupon), reversed (deleted in the shop,
the ledger booked back) — idempotent under retries, duplicate deliveries and a crash
between storing the coupon and hearing the shop's answer; the ledger verifies clean.

The shop's side follows WooCommerce 10.0.2: ``POST /coupons`` takes ``code``,
``discount_type`` ``fixed_cart``, ``amount`` as a decimal string, ``individual_use``,
``usage_limit``, ``email_restrictions`` (WC_REST_Coupons_Controller's schema); a code is
unique and kept in lower case; ``GET /coupons?code=`` finds one; ``DELETE /coupons/<id>``
with ``force=true`` deletes it. An order's ``coupon_lines`` carry ``code``, ``discount``
(without tax) and ``discount_tax`` as strings such as "3.9", and the order says whether
the shop's prices include tax (``prices_include_tax``) — the shape of
shared/woocommerce-10.0.2/deliveries-trash-and-restore.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from plugins.woocommerce_bridge import mapping, store_credit
from portal import jobs
from portal.accounts.models import Role, User
from portal.cli import cli
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.orders.services import CouponUse
from portal.withdrawals import credit
from portal.withdrawals.credit_models import CreditState, StoreCredit
from portal.withdrawals.models import Withdrawal, WithdrawalState
from portal.withdrawals.services import WithdrawalError
from tests.helpers import burst_worker, csrf_token, run_together, worker_env
from tests.money import HX, add_account, balances, configure, decide, earn, post, signed_in
from tests.recordings import deliveries
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer, coupon_line, deliver, woo_order

EMAIL = "seller@shop.example"


@pytest.fixture
def woo(shop: Flask) -> Iterator[FakeShop]:
    fake = FakeShop()
    with ShopServer(fake) as server:
        shop.config.update(
            WOO_STORE_URL=server.url, WOO_CONSUMER_KEY=KEY, WOO_CONSUMER_SECRET=API_SECRET
        )
        yield fake
    shop.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")


@pytest.fixture
def ops_id(make_user) -> int:
    return make_user("ops@shop.example", Role.OPS)


@pytest.fixture
def seller(shop: Flask, woo: FakeShop, make_distributor, ops_id: int) -> int:
    """An active distributor with 100.00 available; store credit on with a 10 % bonus."""
    distributor_id, _ = make_distributor(EMAIL)
    earn(shop, distributor_id, "100.00", "9001")
    configure(shop, ops_id, store_credit_enabled=True, store_credit_bonus_percent=D("10"))
    return distributor_id


def credits(app: Flask, distributor_id: int) -> list[StoreCredit]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(StoreCredit)
                .where(StoreCredit.distributor_id == distributor_id)
                .order_by(StoreCredit.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def clean(app: Flask) -> list[str]:
    with app.app_context():
        return ledger.verify() + credit.verify()


def entries(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(LedgerEntry.id)))


def bonus_booked(app: Flask, distributor_id: int) -> D:
    with app.app_context():
        total = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.distributor_id == distributor_id,
                LedgerEntry.kind == EntryKind.CREDIT_BONUS.value,
            )
        )
        return D(total).quantize(D("0.01"))


def withdrawal(app: Flask, withdrawal_id: int) -> Withdrawal:
    with app.app_context():
        row = db.session.get(Withdrawal, withdrawal_id)
        assert row is not None
        db.session.expunge(row)
        return row


def sync(app: Flask) -> tuple[int, int]:
    """The periodic job."""
    with app.app_context():
        return credit.sync()


def posts(fake: FakeShop) -> int:
    return sum(r.startswith("POST /wp-json/wc/v3/coupons?") for r in fake.requests)


def test_credit_chosen_issued_spent_by_a_smaller_order_and_reversed(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int
) -> None:
    client = signed_in(shop, EMAIL)
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert "Take it as" in page and "no fee, and 10 % more" in page
    # No payout account: store credit alone needs none (cash does).
    fee = client.get("/me/withdrawals/fee?amount=60&take_as=credit", headers=HX).text
    assert "Store credit: a coupon of $66.00 (bonus $6.00), no fee" in fee
    refused = post(client, "/me/withdrawals", amount="60", take_as="cash")
    assert refused.status_code == 400 and "Choose one of your payout accounts." in refused.text
    done = post(client, "/me/withdrawals", amount="60", take_as="credit")
    assert done.status_code == 302
    [first] = credits(shop, seller)
    assert (first.state, first.amount, first.principal, first.bonus) == (
        CreditState.PENDING,
        D("66.00"),
        D("60.00"),
        D("6.00"),
    )
    assert first.code.startswith("credit-") and first.code == first.code.lower()
    assert woo.coupons == {}  # not before ops approve
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("40.00"), Bucket.WITHDRAWING: D("60")}

    decide(shop, ops_id, first.withdrawal_id, "approve")  # the job issues the coupon
    in_shop = woo.coupons[first.code]
    assert {k: in_shop[k] for k in ("discount_type", "amount", "usage_limit")} == {
        "discount_type": "fixed_cart",
        "amount": "66.00",
        "usage_limit": 1,
    }
    assert in_shop["email_restrictions"] == [EMAIL]
    assert in_shop["individual_use"] is False and in_shop["status"] == "publish"
    paid = withdrawal(shop, first.withdrawal_id)
    assert (paid.state, paid.reference, paid.fee) == (WithdrawalState.PAID, first.code, D("0"))
    with shop.app_context():  # paid like any withdrawal: a statement, and a notice
        from portal.withdrawals import statements

        assert statements.numbers_for([paid.id]) == {paid.id: 1}
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("40.00"), Bucket.CREDIT: D("66.00")}
    assert bonus_booked(shop, seller) == D("6.00")
    assert clean(shop) == []
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert first.code in page and "Ready to use in the shop" in page and "66.00" in page

    # A smaller order spends it (prices without tax: the discount alone counts).
    line = coupon_line(
        first.code, "25.5", "2.55", coupon_id=int(in_shop["id"]), discount_type="fixed_cart"
    )
    order = woo_order(4242, coupon_lines=[line])
    assert deliver(client, "order.created", order, delivery="r1").status_code == 200
    spent, rest = credits(shop, seller)
    assert (spent.state, spent.used, spent.shop_order_id) == (
        CreditState.REDEEMED,
        D("25.50"),
        "4242",
    )
    assert (rest.parent_id, rest.amount, rest.principal, rest.bonus) == (
        spent.id,
        D("40.50"),
        D("34.50"),
        D("6.00"),
    )
    assert balances(shop, seller) == {
        Bucket.AVAILABLE: D("40.00"),
        Bucket.CREDIT: D("40.50"),
        Bucket.PAID: D("25.50"),
    }
    assert sync(shop) == (2, 0)  # the rest created, the spent coupon deleted
    assert first.code not in woo.coupons and woo.deleted_coupons[0]["code"] == first.code
    assert woo.coupons[rest.code]["amount"] == "40.50"
    assert clean(shop) == []

    # The same order again, and its later states: nothing doubles.
    before = (entries(shop), len(credits(shop, seller)), posts(woo))
    deliver(client, "order.created", order, delivery="r1")
    later = {**order, "status": "completed", "date_modified_gmt": "2026-11-20T11:00:00"}
    deliver(client, "order.updated", later, delivery="r2")
    assert sync(shop) == (0, 0)
    assert (entries(shop), len(credits(shop, seller)), posts(woo)) == before

    # Reversed by ops: the rest back to available, its bonus taken back, deleted in the shop.
    staff = signed_in(shop, "ops@shop.example")
    queue = staff.get("/admin/withdrawals?state=paid").get_data(as_text=True)
    assert "Take back the credit" in queue
    path = f"/admin/withdrawals/{first.withdrawal_id}/reverse"
    form = {"csrf_token": csrf_token(staff, "/admin/withdrawals"), "note": "Paid by mistake"}
    asked = staff.post(path, data=form)
    assert "Take back the store credit of withdrawal" in asked.text and rest.code in woo.coupons
    assert staff.post(path, data={**form, "confirmed": "1"}).status_code == 302
    assert rest.code not in woo.coupons
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("74.50"), Bucket.PAID: D("25.50")}
    assert bonus_booked(shop, seller) == D("0.00")
    assert withdrawal(shop, first.withdrawal_id).state is WithdrawalState.REVERSED
    assert [c.state for c in credits(shop, seller)] == [CreditState.REDEEMED, CreditState.REVOKED]
    assert clean(shop) == []
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert rest.code not in page and "Reversed" in page


def test_split_pays_the_fee_on_the_cash_part_only(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int
) -> None:
    configure(shop, ops_id, withdrawal_fee_percent=D("1.5"))
    account_id = add_account(shop, seller)
    client = signed_in(shop, EMAIL)
    form = {"amount": "100", "take_as": "split", "payout_account_id": str(account_id)}
    quoted = client.get(
        "/me/withdrawals/fee", query_string={**form, "credit_amount": "30"}, headers=HX
    ).text
    assert "a coupon of $33.00 (bonus $3.00), no fee · Fee $1.05 · you receive $68.95" in quoted
    bad = client.get("/me/withdrawals/fee?amount=100&take_as=split&credit_amount=100").text
    assert "Keep some of the amount as cash" in bad
    missing = post(client, "/me/withdrawals", **form)
    assert missing.status_code == 400 and "Enter how much to take as store credit." in missing.text
    too_much = post(client, "/me/withdrawals", **form, credit_amount="100")
    assert too_much.status_code == 400 and "Keep some of the amount as cash" in too_much.text
    above = post(client, "/me/withdrawals", **{**form, "amount": "100.01"}, credit_amount="30")
    assert above.status_code == 400 and "You can withdraw at most" in above.text
    assert credits(shop, seller) == [] and balances(shop, seller) == {Bucket.AVAILABLE: D("100")}

    done = post(client, "/me/withdrawals", headers=HX, **form, credit_amount="30")
    assert done.status_code == 200 and "Withdrawal of $100.00 requested." in done.text
    assert 'id="store-credit" class="card store-credit"' in done.text  # swapped in too
    with shop.app_context():
        rows = list(db.session.scalars(select(Withdrawal).order_by(Withdrawal.id)))
        assert [(w.amount, w.fee, w.net) for w in rows] == [
            (D("70.00"), D("1.05"), D("68.95")),
            (D("30.00"), D("0"), D("30.00")),
        ]
        cash_id, credit_id = (w.id for w in rows)
    [row] = credits(shop, seller)
    assert (row.withdrawal_id, row.amount) == (credit_id, D("33.00"))
    # Ops cannot mark the credit part paid by hand; the cash part is paid as ever.
    with shop.app_context():
        ops = db.session.get(User, ops_id)
        with pytest.raises(WithdrawalError):
            credit.services.pay(credit_id, ops, "REF")
    decide(shop, ops_id, cash_id, "approve")
    decide(shop, ops_id, cash_id, "pay")
    assert woo.coupons == {}
    decide(shop, ops_id, credit_id, "approve")
    assert woo.coupons[row.code]["amount"] == "33.00"
    assert balances(shop, seller) == {Bucket.CREDIT: D("33.00"), Bucket.PAID: D("70.00")}
    assert clean(shop) == []


def test_a_crash_between_storing_and_the_answer_makes_no_second_coupon(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int
) -> None:
    configure(shop, ops_id, withdrawal_auto_approve_below=D("1000"))
    woo.permissions = "read"  # the shop refuses writes: the coupon waits, the reason kept
    with shop.app_context():
        [made] = credit.request(seller, D("50"), credit.TakeAs.CREDIT, None, None)
        assert made.state is WithdrawalState.APPROVED
    [row] = credits(shop, seller)
    assert row.state is CreditState.PENDING and row.attempts == 1 and row.last_error
    queue = signed_in(shop, "ops@shop.example").get("/admin/withdrawals?state=approved").text
    assert "Store credit not in the shop yet (tried again every minute): the shop" in queue
    assert balances(shop, seller)[Bucket.WITHDRAWING] == D("50.00")

    # The shop made it, but its answer never arrived (the portal crashed): it is found.
    woo.permissions = "read_write"
    woo.coupons[row.code] = {"id": 777, "code": row.code, "amount": "55.00"}
    assert sync(shop) == (1, 0)
    assert posts(woo) == 1  # only the refused one
    [row] = credits(shop, seller)
    assert (row.state, row.shop_coupon_id) == (CreditState.ISSUED, "777")
    assert sync(shop) == (0, 0)  # a retry does nothing more
    with shop.app_context():  # a run in parallel that found it too, answering late
        credit._issued(row.id, "777")
    assert sync(shop) == (0, 0) and row.code in woo.coupons
    assert credits(shop, seller)[0].synced
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("50.00"), Bucket.CREDIT: D("55.00")}
    assert clean(shop) == []


def test_a_rejected_request_never_reaches_the_shop(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int
) -> None:
    with shop.app_context():
        [made] = credit.request(seller, D("50"), credit.TakeAs.CREDIT, None, None)
    assert sync(shop) == (0, 0)  # waiting for ops
    decide(shop, ops_id, made.id, "reject", "Not this month")
    [row] = credits(shop, seller)
    assert row.state is CreditState.REVOKED and row.synced
    assert woo.coupons == {} and posts(woo) == 0
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("100.00")}
    assert clean(shop) == []


def test_only_paid_orders_spend_and_tax_counts_when_prices_include_it(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int, client
) -> None:
    configure(shop, ops_id, withdrawal_auto_approve_below=D("1000"))
    with shop.app_context():
        credit.request(seller, D("20"), credit.TakeAs.CREDIT, None, None)
    [row] = credits(shop, seller)
    line = coupon_line(row.code.upper(), "18.18", "1.82", discount_type="fixed_cart")
    pending = woo_order(5151, status="pending", coupon_lines=[line], prices_include_tax=True)
    deliver(client, "order.created", pending, delivery="p1")
    assert [c.state for c in credits(shop, seller)] == [CreditState.ISSUED]
    paid = {**pending, "status": "processing", "date_modified_gmt": "2026-11-20T10:05:00"}
    deliver(client, "order.updated", paid, delivery="p2")
    spent, rest = credits(shop, seller)
    assert (spent.used, rest.amount, rest.principal, rest.bonus) == (
        D("20.00"),  # 18.18 + 1.82: the coupon's amount includes tax in this shop
        D("2.00"),
        D("0.00"),
        D("2.00"),
    )
    assert balances(shop, seller) == {
        Bucket.AVAILABLE: D("80.00"),
        Bucket.PAID: D("20.00"),
        Bucket.CREDIT: D("2.00"),
    }
    assert clean(shop) == []


def test_store_credit_is_offered_only_when_ops_turn_it_on_and_stays_private(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int, make_distributor
) -> None:
    configure(shop, ops_id, withdrawal_auto_approve_below=D("1000"))
    with shop.app_context():
        credit.request(seller, D("20"), credit.TakeAs.CREDIT, None, None)
    [row] = credits(shop, seller)
    make_distributor("other@shop.example")
    other = signed_in(shop, "other@shop.example")
    assert row.code not in other.get("/me/withdrawals").get_data(as_text=True)
    configure(shop, ops_id, store_credit_enabled=False)
    add_account(shop, seller)
    client = signed_in(shop, EMAIL)
    page = client.get("/me/withdrawals").get_data(as_text=True)
    assert "Take it as" not in page and row.code in page  # what was issued stays shown
    refused = post(client, "/me/withdrawals", amount="20", take_as="credit")
    assert refused.status_code == 400 and "Store credit is not offered" in refused.text


def test_parallel_requests_syncs_and_deliveries_never_double(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int, client
) -> None:
    configure(shop, ops_id, withdrawal_auto_approve_below=D("1000"))
    woo.permissions = "read"  # nothing reaches the shop while the requests race

    def ask() -> None:
        credit.request(seller, D("60"), credit.TakeAs.CREDIT, None, None)

    errors = run_together(shop, ask, ask, ask)
    with shop.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    allowed = (ServiceError,) if postgres else (ServiceError, OperationalError)
    assert len(errors) == 2 and all(isinstance(e, allowed) for e in errors), errors
    [row] = credits(shop, seller)

    woo.permissions = "read_write"
    run_together(shop, credit.sync, credit.sync, credit.sync)
    sync(shop)  # whatever a racing run was refused (the shop's unique code) is done now
    assert [c["code"] for c in woo.coupons.values()] == [row.code]
    assert balances(shop, seller) == {Bucket.AVAILABLE: D("40.00"), Bucket.CREDIT: D("66.00")}

    line = coupon_line(row.code, "10", "1", discount_type="fixed_cart")
    order = woo_order(6161, coupon_lines=[line])
    for n in range(3):
        deliver(client, "order.created", order, delivery=f"d{n}")
    with shop.app_context():
        from plugins.woocommerce_bridge import inbox

        run_together(shop, inbox.drain, inbox.drain)
    spent, rest = credits(shop, seller)
    assert (spent.used, rest.amount) == (D("10.00"), D("56.00"))
    assert balances(shop, seller) == {
        Bucket.AVAILABLE: D("40.00"),
        Bucket.CREDIT: D("56.00"),
        Bucket.PAID: D("10.00"),
    }
    assert clean(shop) == []


def test_a_real_worker_issues_the_coupon_queued_by_the_approval(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int, app_config, redis_url, instance_path
) -> None:
    """With Redis the approval only queues the job; ``portal worker`` creates the coupon
    (twice queued, once made)."""
    from portal import create_app

    with shop.app_context():
        [made] = credit.request(seller, D("30"), credit.TakeAs.CREDIT, None, None)
    queued = create_app({**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": "x"})
    queued.config.update(
        WOO_STORE_URL=shop.config["WOO_STORE_URL"],
        WOO_CONSUMER_KEY=KEY,
        WOO_CONSUMER_SECRET=API_SECRET,
    )
    decide(queued, ops_id, made.id, "approve")
    with queued.app_context():
        jobs.enqueue(credit.sync_withdrawal, made.id, queue=jobs.BACKGROUND, timeout=300)
    assert woo.coupons == {}
    env = worker_env(app_config, redis_url, instance_path)
    env.update(
        WOO_STORE_URL=shop.config["WOO_STORE_URL"],
        WOO_CONSUMER_KEY=KEY,
        WOO_CONSUMER_SECRET=API_SECRET,
    )
    result = burst_worker(env)
    assert result.returncode == 0, result.stderr
    [row] = credits(shop, seller)
    assert row.state is CreditState.ISSUED and list(woo.coupons) == [row.code]
    assert posts(woo) == 1
    assert clean(shop) == []


def test_the_loopback_coupon_lines_have_the_recorded_shape_and_map_alike() -> None:
    """The recorded order (trash-and-restore: a 10 % coupon took 3.90 + 0.39 tax off a shop
    whose prices exclude tax) maps to what the coupon took; ``coupon_line`` builds the same
    keys, of the same types, as the real shop sends."""
    recorded = next(
        d.payload() for d in deliveries("trash-and-restore") if d.topic == "order.created"
    )
    [real] = recorded["coupon_lines"]
    assert mapping.coupon_uses(recorded) == (CouponUse("wqzrdy", D("3.9")),)
    made = coupon_line("wqzrdy", "3.9", "0.39", line_id=10, coupon_id=15)
    assert {k: type(v) for k, v in made.items()} == {k: type(v) for k, v in real.items()}
    assert made["meta_data"][0]["value"] == real["meta_data"][0]["value"]
    assert {k: made[k] for k in ("code", "discount", "discount_tax", "nominal_amount")} == {
        k: real[k] for k in ("code", "discount", "discount_tax", "nominal_amount")
    }
    included = {**recorded, "prices_include_tax": True}
    assert mapping.coupon_uses(included) == (CouponUse("wqzrdy", D("4.29")),)


def test_the_coupon_body_follows_the_rest_schema() -> None:
    """``POST /coupons`` as WC_REST_Coupons_Controller takes it: amounts are strings in
    the currency's minor unit, ``email_restrictions`` a list, ``usage_limit`` an integer."""
    body = store_credit.body(
        credit.Coupon("credit-abc", D("66.5"), "USD", "a@example.com", "Store credit")
    )
    assert body == {
        "code": "credit-abc",
        "status": "publish",
        "discount_type": "fixed_cart",
        "amount": "66.50",
        "individual_use": False,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "email_restrictions": ["a@example.com"],
        "description": "Store credit",
    }
    assert store_credit.body(credit.Coupon("c", D("100"), "JPY", "a@b.c", "d"))["amount"] == "100"


def test_ledger_verify_finds_credit_the_coupons_do_not_hold(
    shop: Flask, woo: FakeShop, seller: int, ops_id: int
) -> None:
    configure(shop, ops_id, withdrawal_auto_approve_below=D("1000"))
    with shop.app_context():
        credit.request(seller, D("20"), credit.TakeAs.CREDIT, None, None)
    runner = shop.test_cli_runner()
    ok = runner.invoke(cli, ["ledger", "verify"])
    assert ok.exit_code == 0 and "ledger verify: ok" in ok.output
    with shop.app_context():  # a stray entry in the credit bucket (appending is allowed)
        journal = ledger.Journal()
        journal.book(seller, Bucket.CREDIT, D("0.01"), "USD", EntryKind.MANUAL, "oops")
        journal.write()
        db.session.commit()
    bad = runner.invoke(cli, ["ledger", "verify"])
    assert bad.exit_code == 1
    assert (
        f"distributor {seller}: store credit coupons hold 22.0000 (bonus 2.0000), "
        "the ledger's credit bucket 22.0100 (bonus 2.0000)"
    ) in bad.output
