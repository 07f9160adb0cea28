"""Prometheus metrics at ``/metrics``, kept by ``prometheus_client``.

Counters and the latency histogram live in the web process: recording one is an
in-memory add, no round trip. Under gunicorn the workers share them through
``prometheus_client``'s multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` names a folder
where every worker keeps its figures in memory-mapped files, and a scrape of any worker
adds up the whole folder (``gunicorn.conf.py`` sets the folder up, a fresh temporary one
unless the variable is set, and forgets the gauges of a worker that exits). Each machine
serves its own figures; the Prometheus server that scrapes every machine adds them up.
Without the variable (``portal run``, the demo, tests) they live in this one process.

Gauges are read when scraped, in the scrape's app context: queue depth and failed jobs
from RQ, and whatever a plugin registered with :func:`add_gauges`.

Set ``PORTAL_METRICS_TOKEN`` to require ``Authorization: Bearer <token>`` (otherwise
keep ``/metrics`` behind the reverse proxy).
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Metric,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from redis.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client picks its storage when imported: files in this folder, or memory.
MULTIPROC_DIR = os.environ.get(MULTIPROC_ENV) or None
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

disable_created_metrics()  # no *_created series: the figures are the same in both modes
REGISTRY = CollectorRegistry(auto_describe=True)  # this process's own figures
REQUESTS = Counter(
    "portal_http_requests_total",
    "HTTP requests by endpoint and status.",
    ["endpoint", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request.",
    buckets=BUCKETS,
    registry=REGISTRY,
)
COUNTERS = {
    "portal_http_requests_total": REQUESTS,
    "portal_webhook_deliveries_total": Counter(
        "portal_webhook_deliveries_total",
        "Shop webhook deliveries by outcome.",
        ["outcome"],
        registry=REGISTRY,
    ),
}


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    value: float
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


def add_gauges(app: Flask, source: Callable[[], Iterable[Gauge]]) -> None:
    """Have ``source`` read more gauges on every scrape (a plugin's own figures)."""
    app.extensions.setdefault("metrics.gauges", []).append(source)


def inc(name: str, amount: float = 1, **labels: str) -> None:
    """Count something (e.g. ``inc("portal_webhook_deliveries_total", outcome="stored")``);
    ``name`` is one of :data:`COUNTERS`. Never fails the caller (a full disk under the
    multiprocess folder is logged)."""
    counter = COUNTERS[name]
    try:
        counter.labels(**labels).inc(amount)
    except OSError:
        log.exception("metric %s not recorded", name)


def defer(command: Callable[[Pipeline], Any], then: Callable[[Any], None]) -> bool:
    """Send a Redis command once the response is made — with the request's other deferred
    commands, in one round trip — and give its result to ``then``. Returns False outside
    a request or without Redis: the caller sends it.

    The webhook queues its inbox drain this way, after its answer is ready."""
    if not (has_request_context() and "metrics_started" in g and current_app.config["REDIS_URL"]):
        return False
    g.setdefault("metrics_deferred", []).append((command, then))
    return True


def _send_deferred(
    app: Flask, deferred: list[tuple[Callable[[Pipeline], Any], Callable[[Any], None]]]
) -> None:
    from portal.jobs import redis_connection

    try:
        pipe = redis_connection(app).pipeline(transaction=False)
        for command, _ in deferred:
            command(pipe)
        results = pipe.execute()
    except RedisError as exc:  # must never fail the request they follow
        log.warning("redis commands of the request not sent: %s", exc)
        return
    for (_, then), result in zip(deferred, results, strict=True):
        try:
            then(result)
        except Exception:  # the response is made: report, never fail it
            log.exception("follow-up of a deferred redis command failed")


def _gauge(name: str, text: str, samples: Iterable[tuple[dict[str, str], float]]) -> Metric:
    metric = Metric(name, text, "gauge")
    for labels, value in samples:
        metric.add_sample(name, labels, value)
    return metric


class _ScrapeGauges:
    """The gauges read at scrape time: RQ's queues, then the plugins' sources."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._queues()
        found: dict[str, Metric] = {}
        for source in self.app.extensions.get("metrics.gauges", []):
            try:
                gauges = list(source())
            except Exception:  # one broken source must not hide the other figures
                log.exception("a gauge source failed")
                continue
            for gauge in gauges:
                metric = found.get(gauge.name)
                if metric is None:
                    metric = found[gauge.name] = Metric(gauge.name, gauge.help, "gauge")
                metric.add_sample(gauge.name, gauge.labels, gauge.value)
        yield from found.values()

    def _queues(self) -> list[Metric]:
        if not self.app.config["REDIS_URL"]:
            return []
        from rq.registry import FailedJobRegistry

        from portal.jobs import QUEUES, queue

        queues = {name: queue(name, self.app) for name in QUEUES}
        return [
            _gauge(
                "portal_queue_depth",
                "Jobs waiting in a portal queue.",
                (({"queue": name}, len(q)) for name, q in queues.items()),
            ),
            _gauge(
                "portal_jobs_failed",
                "Jobs in RQ's failed registry of a portal queue.",
                (({"queue": name}, FailedJobRegistry(queue=q).count) for name, q in queues.items()),
            ),
        ]


class _ThisProcess:
    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


def exposition(app: Flask) -> str:
    """The Prometheus text: every worker's counters (the multiprocess folder, or this
    process), then the gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR:
        MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    registry.register(_ScrapeGauges(app))  # type: ignore[arg-type]
    return generate_latest(registry).decode()


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config["PORTAL_METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    try:
        body = exposition(current_app._get_current_object())  # type: ignore[attr-defined]
    except RedisError:
        abort(503)
    return Response(body, mimetype="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        deferred = g.pop("metrics_deferred", [])
        if started is not None and request.endpoint != "metrics.metrics":
            try:
                REQUESTS.labels(request.endpoint or "unmatched", str(response.status_code)).inc()
                DURATION.observe(time.perf_counter() - started)
            except OSError:  # metrics never fail the request they describe
                log.exception("request metrics not recorded")
        if deferred:
            _send_deferred(app, deferred)
        return response
