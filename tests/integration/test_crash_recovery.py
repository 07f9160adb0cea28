"""A worker killed (SIGKILL) or cut off from the database (its connections terminated by
the server) where a drain's work is half done — rows claimed, orders stored without their
commissions, commissions written but not committed, a batch committed but the job not
finished — loses and doubles nothing: once an undisturbed worker has run, the story's
orders, commissions, balances and bindings are those of the same story drained
undisturbed, every delivery is processed or failed for its own reason, ``ledger verify``
is clean and no order waits for its commissions.

The faults are injected by ``tests/crash_worker.py`` into a real ``portal worker`` on the
test database and a real Redis queue; the reference world is drained in-process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from plugins.woocommerce_bridge import inbox
from plugins.woocommerce_bridge.models import WooDelivery
from portal import create_app, jobs
from portal.commissions import sweep
from portal.extensions import db
from portal.ledger import services as ledger
from tests.helpers import burst_worker, worker_env
from tests.stories import World, deliveries
from tests.woo import SECRET, deliver

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ["claimed", "stored", "applied", "committed"]
WORKER = "portal-crash-worker"

pytestmark = pytest.mark.slow  # a real worker killed and restarted per window


def outcomes(app: Flask, prefix: str) -> tuple[int, int, int]:
    """(processed, failed for their own reason, still pending) among the deliveries."""
    with app.app_context():
        mine = WooDelivery.delivery_id.startswith(prefix)

        def count(*where: Any) -> int:
            return db.session.scalar(select(func.count(WooDelivery.id)).where(mine, *where))

        return (
            count(WooDelivery.processed_at.is_not(None)),
            count(WooDelivery.processed_at.is_(None), WooDelivery.error.is_not(None)),
            count(*inbox.PENDING, WooDelivery.error.is_(None)),
        )


@pytest.mark.parametrize("action", ["kill", "drop"])
@pytest.mark.parametrize("window", WINDOWS)
def test_a_fault_mid_drain_loses_and_doubles_nothing(
    shop: Flask,
    app_config: dict[str, Any],
    redis_url: str,
    instance_path: str,
    make_distributor,
    window: str,
    action: str,
) -> None:
    postgresql = app_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    if action == "drop" and not postgresql:
        pytest.skip("SQLite has no server to end a connection")
    reference = World(make_distributor, "one", 1000)
    disturbed = World(make_distributor, "hit", 5000)
    client = shop.test_client()  # no Redis: drained in-process, undisturbed
    for n, (topic, payload) in enumerate(deliveries(reference)):
        assert deliver(client, topic, payload, delivery=f"r{n}").status_code == 200
    expected = reference.snapshot(shop)

    queued = create_app({**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": SECRET})
    story = deliveries(disturbed)
    for n, (topic, payload) in enumerate(story):
        assert deliver(queued.test_client(), topic, payload, delivery=f"h{n}").status_code == 200
    env = worker_env(app_config, redis_url, instance_path)
    env.update(WOO_WEBHOOK_SECRET=SECRET, PGAPPNAME=WORKER)
    faulty = env | {"CRASH_WINDOW": window, "CRASH_AT": "2", "CRASH_ACTION": action}
    faulty["CRASH_BATCH"] = "40"

    faults, log = 0, ""
    for _ in range(8):  # each run gets further than the one before
        with queued.app_context():
            jobs.enqueue(
                inbox.drain, queue=jobs.INTAKE, timeout=inbox.DRAIN_TIMEOUT
            )  # what the next delivery or the periodic drain does
        run = subprocess.run(
            [sys.executable, "-m", "tests.crash_worker"],
            env=faulty,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        log += run.stderr
        if action == "kill" and run.returncode == 0:
            break
        if action == "kill":
            assert run.returncode == -9, run.stderr[-3000:]
            faults += 1
        else:  # the drain lives through dropped connections
            assert run.returncode == 0, run.stderr[-3000:]
            faults += sum(map(int, re.findall(r"crash-worker: ended (\d+)", run.stderr)))
            break
    assert faults >= 2, f"{window}/{action}: only {faults} fault(s) hit\n{log[-3000:]}"

    with queued.app_context():
        jobs.enqueue(inbox.drain, queue=jobs.INTAKE, timeout=inbox.DRAIN_TIMEOUT)
    result = burst_worker(env)  # undisturbed
    assert result.returncode == 0, result.stderr[-3000:]
    assert outcomes(shop, "h") == (len(story) - 2, 2, 0)  # the two bad rows, for their reasons
    assert disturbed.snapshot(shop) == expected
    with shop.app_context():
        assert ledger.verify() == []
        assert sweep.overdue(timedelta(0)) == []
