"""Incentive campaigns: progress from orders and recruits, awards booked exactly once."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import jobs
from portal.accounts.models import Role, User
from portal.campaigns import overview, progress, services, settlement
from portal.campaigns.models import Campaign, CampaignAward, CampaignMetric, CampaignState
from portal.commissions import services as commissions
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.notifications.models import Notification, NotificationKind
from portal.orders import services as orders
from portal.orders.models import Order
from portal.orders.services import Attribution, LineData, OrderData
from portal.risk.models import FlagStatus, RiskFlag
from portal.risk.qualifying import PAID_STATUSES
from portal.settings import services as settings
from portal.timeutil import utcnow
from tests.helpers import csrf_token, login, run_together

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def store(seller: int | None, n: int, at: datetime, total: str = "100.00", **kw) -> None:
    data = OrderData(
        shop_order_id=str(n),
        status=kw.pop("status", "processing"),
        currency="USD",
        created_at=at,
        modified_at=at,
        lines=(LineData("1", "P1", 1, D(total), refunded_total=D(kw.pop("refunded", "0"))),),
        customer_email=kw.pop("email", f"buyer{n}@example.com"),
        attribution=Attribution(seller, "coupon") if seller else None,
        **kw,
    )
    orders.store_order(data)


def campaign(
    metric: CampaignMetric = CampaignMetric.ORDERS,
    tiers: list[tuple[str, str]] | None = None,
    prizes: list[str] | None = None,
    start: datetime = START,
    end: datetime = END,
    roles: list[str] | None = None,
) -> int:
    created = services.create(
        services.CampaignData(
            name="Sprint",
            description="",
            metric=metric,
            starts_at=start,
            ends_at=end,
            eligible_roles=roles or [],
            eligible_level_ids=[],
            tiers=[(D(t), D(b)) for t, b in (tiers if tiers is not None else [("2", "50")])],
            prizes=[D(p) for p in (prizes or [])],
        ),
        None,
    )
    return created.id


def set_joined(distributor_id: int, at: datetime) -> None:
    db.session.get(Distributor, distributor_id).joined_at = at
    db.session.commit()


@pytest.fixture
def sellers(app: Flask, make_distributor) -> list[int]:
    a, _ = make_distributor("a@shop.example", name="Wang Lei")
    b, _ = make_distributor("b@shop.example", name="李娜")
    c, _ = make_distributor("c@shop.example", name="Cleo Park")
    with app.app_context():
        for n, d in enumerate((a, b, c)):
            set_joined(d, START - timedelta(days=100 - n))
    return [a, b, c]


def recompute(metric: CampaignMetric, start: datetime, end: datetime) -> dict[int, D]:
    """The metric the slow way, from every order and distributor row, in Python."""
    result: dict[int, D] = defaultdict(D)
    if metric is CampaignMetric.RECRUITS:
        for d in db.session.scalars(select(Distributor)):
            if (
                d.parent_id
                and d.status is DistributorStatus.ACTIVE
                and d.joined_at
                and start <= d.joined_at < end
            ):
                result[d.parent_id] += 1
        return dict(result)
    counted = [  # qualifying: attributed, paid, something left after refunds (no flags here)
        o
        for o in db.session.scalars(select(Order).order_by(Order.created_at_shop))
        if o.distributor_id
        and o.status in PAID_STATUSES
        and o.net_total > 0
        and o.created_at_shop < end
    ]
    if metric is CampaignMetric.NEW_CUSTOMERS:
        first: dict[tuple[int, str], datetime] = {}
        for o in counted:
            key = (o.distributor_id, (o.customer_email or "").lower() or o.customer_id)
            first.setdefault(key, o.created_at_shop)
        for (d, _c), at in first.items():
            if at >= start:
                result[d] += 1
        return dict(result)
    for o in counted:
        if o.created_at_shop >= start:
            result[o.distributor_id] += 1 if metric is CampaignMetric.ORDERS else o.net_total
    return {d: v for d, v in result.items() if v}


def test_progress_equals_a_recomputation_from_orders_and_recruits(
    app: Flask, sellers: list[int], make_distributor
) -> None:
    a, b, c = sellers
    for n, email in enumerate(("r1@x.example", "r2@x.example", "r3@x.example")):
        recruit, _ = make_distributor(email, parent_id=a if n < 2 else b)
        with app.app_context():
            set_joined(recruit, START + timedelta(days=n) if n != 1 else START - timedelta(days=1))
    make_distributor("applied@x.example", status=DistributorStatus.APPLIED, parent_id=a)
    with app.app_context():
        day = timedelta(days=1)
        store(a, 1, START + day, email="Repeat@example.com")
        store(a, 2, START + 2 * day, "50.00", email="repeat@example.com")
        store(a, 3, START - day, email="old@example.com")  # before: not counted
        store(a, 4, START + 3 * day, email="old@example.com")  # not a new customer
        store(a, 5, START + 4 * day, status="cancelled")
        store(b, 6, START + day, "80.00", refunded="30.00")
        store(b, 7, END, "999.00")  # the end is exclusive
        store(c, 8, START, "10.00")  # the start is inclusive
        store(None, 9, START + day)
        for metric in CampaignMetric:
            cid = campaign(metric, tiers=[("1", "5"), ("3", "20")])
            camp = db.session.get(Campaign, cid)
            expected = recompute(metric, START, END)
            assert expected, metric
            assert progress.metric_values(metric, START, END) == expected, metric
            for d in sellers:
                shown = progress.progress_for(camp, d)
                assert shown.value == expected.get(d, D(0)), (metric, d)
                tiers_reached = [t.target for t in camp.tiers if shown.value >= t.target]
                assert shown.reached == tiers_reached
        assert recompute(CampaignMetric.SALES, START, END) == {a: D(250), b: D(50), c: D(10)}
        assert recompute(CampaignMetric.NEW_CUSTOMERS, START, END) == {a: 1, b: 1, c: 1}


def _bonus_entries() -> list[tuple[int, D, str]]:
    return [
        (e.distributor_id, e.amount, e.reference)
        for e in db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == EntryKind.BONUS.value)
            .order_by(LedgerEntry.id)
        )
    ]


def _ended_campaign(sellers: list[int]) -> int:
    a, b, c = sellers
    for n in range(3):
        store(a, 100 + n, START + timedelta(days=n + 1))
    for n in range(2):
        store(b, 200 + n, START + timedelta(days=n + 1))
    store(c, 300, START + timedelta(days=1))
    return campaign(tiers=[("2", "50"), ("3", "25")], prizes=["300", "100"])


EXPECTED_TOTAL = {0: D(50 + 25 + 300), 1: D(50 + 100)}


def _check_books(sellers: list[int]) -> None:
    entries = _bonus_entries()
    assert len(entries) == 5
    assert len({(d, ref) for d, _a, ref in entries}) == 5
    for i, d in enumerate(sellers):  # held for the return window, like a commission
        assert ledger.balances(d)[Bucket.HOLDING] == EXPECTED_TOTAL.get(i, D(0))
        assert ledger.balances(d)[Bucket.AVAILABLE] == D(0)
    assert db.session.scalar(select(func.count(CampaignAward.id))) == 5
    assert ledger.verify() == []


def test_awarding_books_each_bonus_once_even_when_run_again(app: Flask, sellers: list[int]) -> None:
    with app.app_context():
        cid = _ended_campaign(sellers)
        preview = progress.outcome(db.session.get(Campaign, cid))
        assert services.close_due_campaigns() == 5
        assert services.close_due_campaigns() == 0
        assert services.award(cid) == 0  # closed: a direct re-run is a no-op too
        db.session.execute(
            Campaign.__table__.update().values(state=CampaignState.CLOSING.value)
        )  # even forced back to closing, the unique keys skip every award
        db.session.commit()
        assert services.award(cid) == 0
        _check_books(sellers)
        booked = {
            (a.distributor_id, a.award_key, a.amount)
            for a in db.session.scalars(select(CampaignAward))
        }
        assert booked == {(w.distributor_id, w.award_key, w.amount) for w in preview}
        assert db.session.get(Campaign, cid).state is CampaignState.CLOSED
        won = db.session.scalars(
            select(Notification.distributor_id).where(
                Notification.kind == NotificationKind.CAMPAIGN_WON
            )
        )
        # Announced once each winner, a tier bonus and a prize together (#17 item 6).
        assert sorted(won) == sorted({w.distributor_id for w in preview})


def test_a_crash_while_awarding_loses_nothing_and_books_nothing_twice(
    app: Flask, sellers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_bring = settlement._bring
    calls = []

    def crash_on_third(*args: Any) -> bool:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real_bring(*args)

    with app.app_context():
        cid = _ended_campaign(sellers)
        monkeypatch.setattr(settlement, "_bring", crash_on_third)
        with pytest.raises(RuntimeError):
            services.close_due_campaigns()
        db.session.rollback()
        assert _bonus_entries() == []  # the awards are booked together or not at all
        assert db.session.get(Campaign, cid).state is CampaignState.CLOSING
        monkeypatch.setattr(settlement, "_bring", real_bring)
        assert services.close_due_campaigns() == 5
        _check_books(sellers)
        assert db.session.get(Campaign, cid).state is CampaignState.CLOSED


def _awards() -> dict[tuple[int, str], tuple[str, D]]:
    return {
        (a.distributor_id, a.award_key): (a.state.value, a.amount)
        for a in db.session.scalars(select(CampaignAward))
    }


def _refund(n: int, seller: int, status: str = "refunded") -> None:
    """Order ``n`` of ``_ended_campaign`` refunded in full (or another status) now."""
    order = orders.find("woocommerce", str(n))
    # Same modification second, other content: the later copy.
    store(seller, n, order.created_at_shop, status=status, refunded="100.00")
    commissions.apply_orders([order.id])


def test_a_bonus_holds_for_the_return_window_and_follows_refunds_and_rejections(
    app: Flask, sellers: list[int]
) -> None:
    """Closed with a: 3 orders (tiers 2 and 3, prize 1), b: 2 (tier 2, prize 2), c: 1.
    Before the bonuses mature, a's third order is refunded (tier 3 lost) and one of b's
    is rejected in risk review (tier 2 lost; b still ranks 2nd, before c by joining
    first); then they mature into available."""
    a, b, _c = sellers
    with app.app_context():
        settings.update({"return_window_days": 7}, None)
        cid = _ended_campaign(sellers)
        assert services.close_due_campaigns() == 5
        closed = db.session.get(Campaign, cid).closed_at
        _refund(102, a)
        order = orders.find("woocommerce", "201")
        db.session.add(
            RiskFlag(
                order_id=order.id,
                distributor_id=b,
                rule="large_order",
                evidence={},
                status=FlagStatus.REJECTED,
            )
        )
        commissions.apply_orders([order.id])
        assert settlement.settle_awards(closed + timedelta(days=1)) == 2
        assert _awards() == {
            (a, "tier:2"): ("holding", D("50")),
            (a, "tier:3"): ("reversed", D("0")),
            (a, "rank:1"): ("holding", D("300")),
            (b, "tier:2"): ("reversed", D("0")),
            (b, "rank:2"): ("holding", D("100")),
        }
        assert ledger.balances(a)[Bucket.HOLDING] == D("350")
        assert ledger.balances(b)[Bucket.HOLDING] == D("100")
        assert settlement.settle_awards(closed + timedelta(days=6)) == 0  # nothing new
        assert settlement.settle_awards(closed + timedelta(days=7)) == 3  # matured
        assert ledger.balances(a)[Bucket.AVAILABLE] == D("350")
        assert ledger.balances(a)[Bucket.HOLDING] == D("0")
        assert ledger.balances(b)[Bucket.AVAILABLE] == D("100")
        assert {state for state, _ in _awards().values()} == {"available", "reversed"}
        assert ledger.verify() == []


def test_a_refund_after_the_bonus_matured_is_a_negative_carry(
    app: Flask, sellers: list[int]
) -> None:
    a, _b, _c = sellers
    with app.app_context():
        settings.update({"return_window_days": 0}, None)
        _ended_campaign(sellers)
        services.close_due_campaigns()
        later = utcnow() + timedelta(days=1)
        settlement.settle_awards(later)
        assert ledger.balances(a)[Bucket.AVAILABLE] == D("375")  # 50 + 25 + 300, matured
        journal = ledger.Journal()  # paid out (the withdrawal path's net effect)
        journal.book(a, Bucket.AVAILABLE, D("-375"), "USD", EntryKind.WITHDRAWAL, "w:1")
        journal.book(a, Bucket.PAID, D("375"), "USD", EntryKind.WITHDRAWAL, "w:1")
        journal.write()
        db.session.commit()
        assert settlement.settle_awards(later) == 0  # no order changed: not worked out again
        _refund(102, a)
        assert settlement.settle_awards(later + timedelta(minutes=5)) == 1  # tier 3 lost
        assert ledger.balances(a)[Bucket.AVAILABLE] == D("-25")  # taken from the next payout
        assert _awards()[(a, "tier:3")] == ("reversed", D("0"))
        assert ledger.verify() == []


def test_two_award_runs_at_the_same_moment_book_once(app: Flask, sellers: list[int]) -> None:
    with app.app_context():
        cid = _ended_campaign(sellers)
        assert services.start_closing(cid)
        assert not services.start_closing(cid)  # compare-and-set: one winner
    errors = run_together(app, lambda: services.award(cid), lambda: services.award(cid))
    assert errors == []
    with app.app_context():
        _check_books(sellers)


def test_ties_go_to_whoever_joined_first(app: Flask, sellers: list[int]) -> None:
    a, b, c = sellers  # a joined first, then b, then c
    with app.app_context():
        set_joined(b, START - timedelta(days=500))  # b joined before a
        for n, seller in enumerate((a, b, a, b, c)):
            store(seller, 400 + n, START + timedelta(days=1))
        cid = campaign(tiers=[], prizes=["100", "50"])
        board = progress.standings(db.session.get(Campaign, cid))
        assert [(s.rank, s.distributor_id, s.value) for s in board] == [
            (1, b, 2),
            (2, a, 2),
            (3, c, 1),
        ]
        assert [s.name for s in board] == ["李*", "Wang L.", "Cleo P."]
        set_joined(b, START - timedelta(days=50))  # now a is the senior one
        board = progress.standings(db.session.get(Campaign, cid))
        assert [s.distributor_id for s in board] == [a, b, c]
        prizes = {
            w.award_key: w.distributor_id for w in progress.outcome(db.session.get(Campaign, cid))
        }
        assert prizes == {"rank:1": a, "rank:2": b}


def test_only_eligible_active_distributors_take_part(app: Flask, sellers: list[int]) -> None:
    a, b, c = sellers
    with app.app_context():
        db.session.get(Distributor, b).role = DistributorRole.GROUP_LEADER
        db.session.get(Distributor, c).status = DistributorStatus.SUSPENDED
        db.session.commit()
        for n, seller in enumerate((a, b, c)):
            store(seller, 500 + n, START + timedelta(days=1))
        cid = campaign(tiers=[("1", "10")], roles=[DistributorRole.GROUP_LEADER.value])
        assert [s.distributor_id for s in progress.standings(db.session.get(Campaign, cid))] == [b]


def test_short_names() -> None:
    assert progress.short_name("Wang Lei") == "Wang L."
    assert progress.short_name("王磊") == "王*"
    assert progress.short_name("Madonna") == "Madonna"
    assert progress.short_name("  Ana  de  Souza ") == "Ana S."


def test_ops_create_a_campaign_and_preview_the_winners(
    app: Flask, admin_client: FlaskClient, sellers: list[int]
) -> None:
    a = sellers[0]
    with app.app_context():
        store(a, 600, utcnow() - timedelta(hours=1))
        store(a, 601, utcnow() - timedelta(hours=1))
    token = csrf_token(admin_client, "/admin/campaigns/new")
    today = utcnow().date()
    form = {
        "csrf_token": token,
        "name": "Sprint",
        "metric": "orders",
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": today.isoformat(),
        "tiers": "2 = 50\n5 = 200",
        "prizes": "",
    }
    bad = admin_client.post(
        "/admin/campaigns/new", data={**form, "tiers": "ten = 50"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 422
    assert "is not a number" in bad.get_data(as_text=True)
    created = admin_client.post("/admin/campaigns/new", data=form)
    assert created.status_code == 302
    with app.app_context():
        camp = db.session.scalar(select(Campaign))
        assert [(t.target, t.bonus) for t in camp.tiers] == [(2, 50), (5, 200)]
        assert camp.currency == settings.get("currency")
        assert camp.ends_at == datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    page = admin_client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Preview" in page and "Wang Lei" in page and "Tier 2" in page
    assert admin_client.get("/admin/campaigns").status_code == 200
    assert admin_client.get("/admin/campaigns/999").status_code == 404
    # The period is not over: closing now is refused.
    closed = admin_client.post(f"/admin/campaigns/{camp.id}/close", data={"csrf_token": token})
    assert closed.status_code == 302
    with app.app_context():
        assert db.session.get(Campaign, camp.id).state is CampaignState.OPEN


def test_distributors_see_progress_leaderboards_and_past_results(
    app: Flask, client: FlaskClient, sellers: list[int], make_user
) -> None:
    a, b, _c = sellers
    now = utcnow()
    with app.app_context():
        for n in range(3):
            store(a, 700 + n, now - timedelta(hours=2))
        store(b, 710, now - timedelta(hours=2))
        running = campaign(
            tiers=[("2", "50"), ("5", "200")],
            start=now - timedelta(days=1),
            end=now + timedelta(days=1),
        )
        other = campaign(
            roles=[DistributorRole.AGENT.value],
            start=now - timedelta(days=1),
            end=now + timedelta(days=1),
        )
        past = campaign(
            prizes=["30"], start=now - timedelta(days=1), end=now - timedelta(minutes=1)
        )
        services.close_due_campaigns()
        assert db.session.get(Campaign, past).state is CampaignState.CLOSED
    assert login(client, "a@shop.example").status_code == 302
    page = client.get("/me/campaigns").get_data(as_text=True)
    assert f'hx-get="/me/campaigns/{running}/progress"' in page
    assert f'<progress id="campaign-{running}-bar" max="5.0000" value="3.0000"' in page
    assert "You won" in page
    assert "on hold until" in page  # the prize waits for the return window
    card = client.get(f"/me/campaigns/{running}/progress", headers={"HX-Request": "true"})
    assert card.status_code == 200 and "<html" not in card.get_data(as_text=True)
    assert client.get(f"/me/campaigns/{running}/progress").status_code == 200  # full page
    assert client.get(f"/me/campaigns/{other}/progress").status_code == 404
    assert client.get("/me/campaigns/999/progress").status_code == 404
    board = client.get(f"/me/campaigns/leaderboard?period=campaign&campaign={running}")
    text = board.get_data(as_text=True)
    assert "Wang L." in text and "Wang Lei" not in text and "李*" in text
    for period in ("month", "all"):
        assert (
            client.get(f"/me/campaigns/leaderboard?period={period}&metric=sales").status_code == 200
        )
    make_user("ops@shop.example", Role.OPS)
    assert client.get("/admin/campaigns").status_code == 403


def test_ops_close_an_ended_campaign_and_the_job_is_periodic(
    app: Flask, admin_client: FlaskClient, sellers: list[int]
) -> None:
    with app.app_context():
        cid = _ended_campaign(sellers)
    token = csrf_token(admin_client, f"/admin/campaigns/{cid}")
    assert "Close and award now" in admin_client.get(f"/admin/campaigns/{cid}").get_data(
        as_text=True
    )
    response = admin_client.post(f"/admin/campaigns/{cid}/close", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Campaign, cid).state is CampaignState.CLOSED
        _check_books(sellers)
    page = admin_client.get(f"/admin/campaigns/{cid}").get_data(as_text=True)
    assert "Awards booked" in page
    assert page.count("On hold for the return window") == 5
    assert "portal.campaigns.services.close_due_campaigns" in {
        job.name for job in jobs.periodic_jobs(app)
    }


# --- the pages' reads (portal.campaigns.overview) and closing now -------------------


def test_a_distributor_sees_the_running_campaigns_they_take_part_in(
    app: Flask, sellers: list[int]
) -> None:
    now = utcnow()
    with app.app_context():
        running = campaign(start=now - timedelta(days=1), end=now + timedelta(days=1))
        campaign(start=now + timedelta(days=1), end=now + timedelta(days=2))  # not yet
        campaign(start=now - timedelta(days=2), end=now - timedelta(days=1))  # over
        campaign(  # agents only
            roles=[DistributorRole.AGENT.value],
            start=now - timedelta(days=1),
            end=now + timedelta(days=1),
        )
        a = db.session.get(Distributor, sellers[0])
        assert [c.id for c in overview.visible(a)] == [running]
        assert overview.card(running, a) is not None
        assert overview.card(running + 100, a) is None


def test_what_a_distributor_won_is_exact_and_held_until_the_window_ends(
    app: Flask, sellers: list[int]
) -> None:
    with app.app_context():
        cid = _ended_campaign(sellers)
        services.close_due_campaigns()
        won, held_until = overview.won_by(sellers[0])
        assert won == {cid: D("375.00")} and isinstance(won[cid], D)
        assert set(held_until) == {cid}
        page = overview.mine(db.session.get(Distributor, sellers[0]))
        assert [c.id for c in page.past] == [cid] and page.running == []
        assert overview.won_by(sellers[2]) == ({}, {})


def test_the_preview_is_the_outcome_while_open_and_the_booked_awards_after(
    app: Flask, sellers: list[int]
) -> None:
    with app.app_context():
        cid = _ended_campaign(sellers)
        before = overview.preview(cid)
        assert before is not None and not before.booked
        assert before.names[sellers[0]] == "Wang Lei"
        services.close_due_campaigns()
        after = overview.preview(cid)
        assert after is not None and after.booked
        assert sorted((a.distributor_id, a.amount) for a in after.awards) == sorted(
            (a.distributor_id, a.amount) for a in before.awards
        )
        assert overview.preview(cid + 100) is None


def test_leaderboard_periods_and_metrics(app: Flask, sellers: list[int]) -> None:
    a, b, _c = sellers
    now = utcnow()
    with app.app_context():
        store(a, 1, now - timedelta(hours=1))
        store(a, 2, now - timedelta(hours=1))
        store(b, 3, now - timedelta(hours=1), total="500.00")
        later = campaign(start=now + timedelta(days=1), end=now + timedelta(days=2))
        board = overview.leaderboard(b, "nonsense", None, "nonsense", now)
        assert board is not None and board.period == "month"
        assert board.metric is CampaignMetric.ORDERS
        assert [s.distributor_id for s in board.board] == [a, b] and board.mine is None
        sales = overview.leaderboard(a, "all", None, "sales", now)
        assert sales is not None and [s.distributor_id for s in sales.board] == [b, a]
        assert overview.leaderboard(a, "campaign", later, "orders", now) is None  # not started
        assert overview.leaderboard(a, "campaign", None, "orders", now) is None
        ended = campaign(metric=CampaignMetric.SALES, end=END)
        board = overview.leaderboard(a, "campaign", ended, "orders", now)
        assert board is not None and board.campaign.id == ended
        assert board.metric is CampaignMetric.SALES


def test_closing_now_awards_an_ended_campaign_and_refuses_a_running_one(
    app: Flask, sellers: list[int], make_user
) -> None:
    now = utcnow()
    ops_id = make_user("ops@shop.example")
    with app.app_context():
        ops = db.session.get(User, ops_id)
        running = campaign(start=now - timedelta(days=1), end=now + timedelta(days=1))
        assert services.close_now(running, ops) is False
        assert services.close_now(running + 100, ops) is False
        ended = _ended_campaign(sellers)
        assert services.close_now(ended, ops) is True  # the award job ran in process
        assert db.session.get(Campaign, ended).state is CampaignState.CLOSED
        assert services.close_now(ended, ops) is False  # closed already
