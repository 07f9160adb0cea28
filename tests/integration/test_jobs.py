"""Queue wiring: in-process without Redis; real Redis + a real ``portal worker`` with it."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from flask import Flask
from rq.job import JobStatus
from sqlalchemy import func, select

from portal import create_app, jobs
from portal.accounts.models import LoginFailure
from portal.accounts.services import purge_old_login_failures
from portal.extensions import db
from portal.timeutil import utcnow
from tests.helpers import portal_command, worker_env


def add_failures(app: Flask, old: int, recent: int) -> None:
    with app.app_context():
        stamp = utcnow() - timedelta(days=3)
        for _ in range(old):
            db.session.add(LoginFailure(email="o@x.example", ip_hash="h", created_at=stamp))
        for _ in range(recent):
            db.session.add(LoginFailure(email="r@x.example", ip_hash="h"))
        db.session.commit()


def failure_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(LoginFailure.id)))


def test_without_redis_enqueue_is_a_direct_call(app: Flask) -> None:
    add_failures(app, old=3, recent=1)
    with app.app_context():
        assert jobs.enqueue(purge_old_login_failures) == 3
    assert failure_count(app) == 1


def test_periodic_jobs_are_declared_by_the_factory(app: Flask) -> None:
    names = {job.name for job in jobs.periodic_jobs(app)}
    assert "portal.accounts.services.purge_old_login_failures" in names


def test_in_process_ticker_runs_due_jobs_once_per_interval(app_config) -> None:
    app = create_app(app_config)
    add_failures(app, old=2, recent=0)
    ticker = jobs.Ticker(app, interval=0.01)
    assert "portal.accounts.services.purge_old_login_failures" in ticker.tick()
    assert failure_count(app) == 0
    add_failures(app, old=2, recent=0)
    assert ticker.tick() == []  # not due again for an hour
    assert failure_count(app) == 2


def test_a_failing_periodic_job_does_not_stop_the_others(app_config) -> None:
    app = create_app(app_config)
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    def fine() -> None:
        calls.append("fine")

    jobs.every(app, 60, broken, name="broken")
    jobs.every(app, 60, fine, name="fine")
    fired = jobs.Ticker(app).tick()
    assert {"broken", "fine"} <= set(fired)
    assert calls == ["broken", "fine"]


@pytest.mark.slow
def test_real_worker_runs_an_enqueued_job(
    app: Flask, app_config, redis_url: str, instance_path: str
) -> None:
    redis_app = create_app({**app_config, "REDIS_URL": redis_url})
    add_failures(app, old=4, recent=2)
    with redis_app.app_context():
        job = jobs.enqueue(purge_old_login_failures)
        assert jobs.queue().count == 1
    assert failure_count(app) == 6  # queued, not run
    result = subprocess.run(
        [*portal_command(), "worker", "--burst"],
        env=worker_env(app_config, redis_url, instance_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert failure_count(app) == 2
    with redis_app.app_context():
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
        assert job.return_value() == 4


def test_periodic_jobs_are_enqueued_once_across_workers(app_config, redis_url: str) -> None:
    first = create_app({**app_config, "REDIS_URL": redis_url})
    second = create_app({**app_config, "REDIS_URL": redis_url})
    fired = jobs.Ticker(first).tick() + jobs.Ticker(second).tick()
    assert sorted(fired) == sorted(job.name for job in jobs.periodic_jobs(first))
    with first.app_context():
        assert jobs.queue().count == len(fired)


@pytest.mark.slow
def test_real_worker_computes_commissions(
    app: Flask, app_config, redis_url: str, instance_path: str, make_distributor
) -> None:
    from decimal import Decimal

    from portal.commissions.models import CommissionPlan
    from portal.commissions.services import apply_order
    from portal.ledger import services as ledger
    from portal.ledger.models import Bucket
    from portal.orders.services import Attribution, LineData, OrderData, store_order

    parent, _ = make_distributor("parent@shop.example")
    seller, _ = make_distributor("seller@shop.example", parent_id=parent)
    redis_app = create_app({**app_config, "REDIS_URL": redis_url})
    with redis_app.app_context():
        db.session.add(
            CommissionPlan(
                role="affiliate",
                max_depth=2,
                rate_depth1=Decimal("10"),
                rate_depth2=Decimal("5"),
                rate_depth3=Decimal("0"),
            )
        )
        db.session.commit()
        order_id = store_order(
            OrderData(
                shop_order_id="W1",
                status="processing",
                currency="USD",
                created_at=utcnow(),
                modified_at=utcnow(),
                lines=(LineData("1", "P1", 1, Decimal("80.00")),),
                attribution=Attribution(seller, "coupon"),
            )
        ).order_id
        for _ in range(3):  # the same order queued three times books once
            jobs.enqueue(apply_order, order_id)
        assert ledger.balances(seller)[Bucket.PENDING] == 0
    result = subprocess.run(
        [*portal_command(), "worker", "--burst"],
        env=worker_env(app_config, redis_url, instance_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with app.app_context():
        assert ledger.balances(seller)[Bucket.PENDING] == Decimal("8.00")
        assert ledger.balances(parent)[Bucket.PENDING] == Decimal("4.00")
        assert ledger.verify() == []
