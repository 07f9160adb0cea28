"""Production readiness: request ids, JSON logs, Prometheus metrics (in one process, and
added up over processes sharing a multiprocess folder, as gunicorn's workers do), and a
worker that finishes its current job on SIGTERM."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask
from rq.job import JobStatus

from portal import create_app, jobs
from portal.logs import ContextFilter, JsonFormatter
from tests.helpers import free_port, login, portal_command, wait_until_serving, worker_env
from tests.slow_jobs import slow_marker
from tests.woo import SECRET, deliver, woo_order


def metric(text: str, field: str) -> float:
    for line in text.splitlines():
        if line.startswith(field + " "):
            return float(line.split()[-1])
    return 0.0


def test_request_ids_are_echoed_or_made(app: Flask) -> None:
    client = app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42"})
    assert given.headers["X-Request-ID"] == "edge-42"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id, with spaces!"})
    assert len(made.headers["X-Request-ID"]) == 32 and " " not in made.headers["X-Request-ID"]


def test_log_lines_are_json_with_request_and_user(app: Flask, make_distributor) -> None:
    make_distributor("lin@shop.example")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("portal.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        client = app.test_client()
        login(client, "lin@shop.example")
        client.get("/me/", headers={"X-Request-ID": "req-7"})
    finally:
        access.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    me = next(entry for entry in lines if entry["path"] == "/me/")
    assert me["request_id"] == "req-7" and me["user_id"] is not None
    assert me["status"] == 200 and me["duration_ms"] >= 0 and me["level"] == "INFO"


def test_metrics_count_requests_in_process(app: Flask) -> None:
    client = app.test_client()
    before = metric(
        client.get("/metrics").text,
        'portal_http_requests_total{endpoint="core.healthz",status="200"}',
    )
    for _ in range(3):
        client.get("/healthz")
    text = client.get("/metrics").text
    after = metric(text, 'portal_http_requests_total{endpoint="core.healthz",status="200"}')
    assert after - before == 3
    assert "# TYPE portal_http_request_duration_seconds histogram" in text
    assert metric(text, 'portal_http_request_duration_seconds_bucket{le="+Inf"}') >= 3


def test_metrics_can_require_a_token_and_show_the_queues(app_config, redis_url: str) -> None:
    config = {**app_config, "REDIS_URL": redis_url, "PORTAL_METRICS_TOKEN": "s3cret"}
    served = create_app(config)
    served.test_client().get("/healthz")
    assert served.test_client().get("/metrics").status_code == 401
    wrong = served.test_client().get("/metrics", headers={"Authorization": "Bearer s3cre"})
    assert wrong.status_code == 401
    text = served.test_client().get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
    assert metric(text, 'portal_http_requests_total{endpoint="core.healthz",status="200"}') >= 1
    for queue in ("intake", "background"):
        assert metric(text, f'portal_queue_depth{{queue="{queue}"}}') == 0
        assert f'portal_queue_depth{{queue="{queue}"}} 0.0' in text
        assert f'portal_jobs_failed{{queue="{queue}"}} 0.0' in text


def test_metrics_count_webhook_deliveries_by_outcome(
    app: Flask, app_config, redis_url: str
) -> None:
    """Each delivery's outcome is counted once, with the request that carried it."""
    config = {**app_config, "REDIS_URL": redis_url, "WOO_WEBHOOK_SECRET": SECRET}
    served = create_app(config)
    client = served.test_client()
    stored = 'portal_webhook_deliveries_total{outcome="stored"}'
    refused = 'portal_webhook_deliveries_total{outcome="unauthorized"}'
    rejected = 'portal_webhook_deliveries_total{outcome="rejected"}'
    ping = 'portal_webhook_deliveries_total{outcome="ping"}'
    requests = 'portal_http_requests_total{endpoint="woocommerce.webhook",status="200"}'
    fields = (stored, refused, rejected, ping, requests)
    before = client.get("/metrics").text

    assert deliver(client, "order.created", woo_order(1)).status_code == 200
    assert deliver(client, "order.created", woo_order(2)).status_code == 200
    assert deliver(client, "order.created", woo_order(3), secret="x").status_code == 401
    assert deliver(client, "order.created", b"{oops").status_code == 400
    assert client.post("/woocommerce/webhook", data=b"webhook_id=9").status_code == 200

    after = client.get("/metrics").text
    # Every delivery is also an ordinary request of the webhook endpoint.
    assert [metric(after, f) - metric(before, f) for f in fields] == [2, 1, 1, 1, 3]


COUNTING = """
import sys
from portal import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x" * 32})
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
if sys.argv[3] == "scrape":
    print(client.get("/metrics").text)
"""


def test_processes_sharing_a_multiprocess_folder_add_up(tmp_path: Path) -> None:
    """Two web processes count into one PROMETHEUS_MULTIPROC_DIR; a scrape of a third
    shows the sum, and its own requests only once."""
    import os
    import sys

    folder = tmp_path / "metrics"
    folder.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "REDIS_URL": "",
    }
    database = f"sqlite:///{tmp_path / 'portal.db'}"

    def run(count: int, then: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", COUNTING, database, str(count), then],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    run(3, "exit")
    run(4, "exit")
    text = run(2, "scrape")
    healthz = 'portal_http_requests_total{endpoint="core.healthz",status="200"}'
    assert metric(text, healthz) == 9
    assert metric(text, "portal_http_request_duration_seconds_count") == 9
    assert metric(text, 'portal_http_request_duration_seconds_bucket{le="+Inf"}') == 9
    assert len(list(folder.glob("*.db"))) >= 3  # one file per process and kind


def test_the_worker_finishes_its_job_on_sigterm(
    app_config, redis_url: str, instance_path: str, tmp_path: Path
) -> None:
    redis_app = create_app({**app_config, "REDIS_URL": redis_url})
    marker = str(tmp_path / "job")
    with redis_app.app_context():
        job = jobs.enqueue(slow_marker, marker, 3, queue=jobs.BACKGROUND, timeout=60)
    worker = subprocess.Popen(
        [*portal_command(), "worker"],
        env=worker_env(app_config, redis_url, instance_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(marker + ".started").exists():
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert Path(marker).read_text() == "done"
    with redis_app.app_context():
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.read().decode()


def test_gunicorn_serves_the_app_with_the_shipped_config(tmp_path: Path) -> None:
    import sys

    port = free_port()
    root = Path(__file__).resolve().parents[2]
    env = {
        "PATH": str(Path(sys.executable).parent),
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", str(root / "gunicorn.conf.py")],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, headers, _ = wait_until_serving(server, f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert headers["X-Request-ID"]
        # The workers count into one multiprocess folder: whichever worker answers the
        # scrape, it shows every worker's requests.
        healthz = 'portal_http_requests_total{endpoint="core.healthz",status="200"}'
        before = metric(_get(port, "/metrics"), healthz)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _get(port, "/healthz"), range(40)))
        assert {metric(_get(port, "/metrics"), healthz) - before for _ in range(4)} == {40}
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0
    finally:
        if server.poll() is None:
            server.kill()
