"""Queue wiring: in-process without Redis; real Redis + a real ``portal worker`` with it."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta
from pathlib import Path

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
from tests.slow_jobs import slow_marker
from tests.woo import SECRET, commission_states, deliver, woo_order


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
        assert jobs.enqueue(purge_old_login_failures, queue=jobs.BACKGROUND, timeout=60) == 3
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

    jobs.every(app, 60, broken, name="broken", timeout=60)
    jobs.every(app, 60, fine, name="fine", timeout=60)
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
        job = jobs.enqueue(purge_old_login_failures, queue=jobs.BACKGROUND, timeout=60)
        assert jobs.queue(jobs.BACKGROUND).count == 1
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
        assert sum(jobs.queue(name).count for name in jobs.QUEUES) == len(fired)


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
            jobs.enqueue(apply_order, order_id, queue=jobs.INTAKE, timeout=60)
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


def _started(path: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not Path(path + ".started").exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)


def test_a_drain_is_booked_while_a_long_background_job_runs(
    shop: Flask, app_config, redis_url: str, instance_path: str, tmp_path: Path, make_distributor
) -> None:
    """A background job that takes minutes holds only its own worker: the worker of the
    intake queue drains a delivery and books its commission meanwhile."""
    _, code = make_distributor("seller@shop.example")
    redis_app = create_app({**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": SECRET})
    env = worker_env(app_config, redis_url, instance_path) | {"WOO_WEBHOOK_SECRET": SECRET}
    marker = str(tmp_path / "long")
    with redis_app.app_context():
        jobs.enqueue(slow_marker, marker, 300, queue=jobs.BACKGROUND, timeout=600)
    background = subprocess.Popen(
        [*portal_command(), "worker", "--queue", "background"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _started(marker, background)
        response = deliver(redis_app.test_client(), "order.created", woo_order(41, coupons=[code]))
        assert response.status_code == 200
        with redis_app.app_context():  # the delivery's drain, and the ticker's jobs
            assert jobs.queue(jobs.INTAKE).count >= 1
        intake = subprocess.run(
            [*portal_command(), "worker", "--burst", "--queue", "intake"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert intake.returncode == 0, intake.stderr
        assert background.poll() is None and not Path(marker).exists()  # still running
        assert [state for _, state, _ in commission_states(shop, "41")] == ["pending"]
    finally:
        background.kill()
        background.wait(timeout=30)


def test_a_worker_of_both_queues_takes_intake_first(
    app_config, redis_url: str, instance_path: str, tmp_path: Path
) -> None:
    redis_app = create_app({**app_config, "REDIS_URL": redis_url})
    first, second = str(tmp_path / "background"), str(tmp_path / "intake")
    with redis_app.app_context():
        jobs.enqueue(slow_marker, first, 0, queue=jobs.BACKGROUND, timeout=60)
        jobs.enqueue(slow_marker, second, 0, queue=jobs.INTAKE, timeout=60)
    result = subprocess.run(
        [*portal_command(), "worker", "--burst"],
        env=worker_env(app_config, redis_url, instance_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert Path(second).stat().st_mtime_ns <= Path(first + ".started").stat().st_mtime_ns


def test_every_periodic_job_states_its_timeout_and_queue(app: Flask) -> None:
    declared = {job.name: job for job in jobs.periodic_jobs(app)}
    assert all(0 < job.timeout <= 3600 for job in declared.values())
    intake = {name for name, job in declared.items() if job.queue == jobs.INTAKE}
    assert intake == {
        "woocommerce.drain",
        "portal.commissions.jobs.apply_due_commissions",
    }
