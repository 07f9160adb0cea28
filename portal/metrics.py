"""Prometheus metrics at ``/metrics``.

Counters live in Redis, so every gunicorn worker on every machine adds to the same
numbers and nothing is kept in a web process between requests; without Redis (the
demo, tests without it) they live in this process. Recording never fails a request.
Gauges (queue depth, failed jobs) are read from RQ when scraped, and from whatever a
plugin registered with :func:`add_gauges` (read when scraped, in the scrape's app context).

Set ``PORTAL_METRICS_TOKEN`` to require ``Authorization: Bearer <token>`` (otherwise
keep ``/metrics`` behind the reverse proxy).
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, has_request_context, request
from redis.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
HELP = {
    "portal_http_requests_total": ("counter", "HTTP requests by endpoint and status."),
    "portal_http_request_duration_seconds": ("histogram", "Time to answer a request."),
    "portal_webhook_deliveries_total": ("counter", "Shop webhook deliveries by outcome."),
}
_memory: dict[str, float] = defaultdict(float)


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    value: float
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


def add_gauges(app: Flask, source: Callable[[], Iterable[Gauge]]) -> None:
    """Have ``source`` read more gauges on every scrape (a plugin's own figures)."""
    app.extensions.setdefault("metrics.gauges", []).append(source)


def _registered_gauges(app: Flask) -> list[str]:
    lines: list[str] = []
    described: set[str] = set()
    for source in app.extensions.get("metrics.gauges", []):
        try:
            gauges = list(source())
        except Exception:  # one broken source must not hide the other figures
            log.exception("a gauge source failed")
            continue
        for gauge in gauges:
            if gauge.name not in described:
                described.add(gauge.name)
                lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
            value = gauge.value
            shown = int(value) if float(value).is_integer() else value
            lines.append(f"{_field(gauge.name, gauge.labels)} {shown}")
    return lines


def _key(app: Flask) -> str:
    return f"{app.config['PORTAL_QUEUE']}:metrics"


def _field(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _add(
    app: Flask,
    amounts: Iterable[tuple[str, float]],
    deferred: Iterable[tuple[Callable[[Pipeline], Any], Callable[[Any], None]]] = (),
) -> None:
    amounts, deferred = list(amounts), list(deferred)
    if not app.config["REDIS_URL"]:
        for field, amount in amounts:
            _memory[field] += amount
        return
    from portal.jobs import redis_connection

    try:
        pipe = redis_connection(app).pipeline(transaction=False)
        for command, _ in deferred:
            command(pipe)
        for field, amount in amounts:
            pipe.hincrbyfloat(_key(app), field, amount)
        results = pipe.execute()
    except RedisError as exc:  # metrics must never fail the request they describe
        if deferred:
            log.warning("redis commands of the request not sent: %s", exc)
        log.debug("metrics not recorded: %s", exc)
        return
    for (_, then), result in zip(deferred, results, strict=False):
        try:
            then(result)
        except Exception:  # the response is made: report, never fail it
            log.exception("follow-up of a deferred redis command failed")


def defer(command: Callable[[Pipeline], Any], then: Callable[[Any], None]) -> bool:
    """Send one more Redis command in the pipeline that carries this request's figures
    after the response is made (one round trip for both), and give its result to
    ``then``. Returns False outside a request or without Redis: the caller sends it.

    The webhook queues its inbox drain this way: a delivery then costs one Redis round
    trip, not two."""
    if not (has_request_context() and "metrics_started" in g and current_app.config["REDIS_URL"]):
        return False
    g.setdefault("metrics_deferred", []).append((command, then))
    return True


def inc(name: str, amount: float = 1, **labels: str) -> None:
    """Count something (e.g. ``inc("portal_webhook_deliveries_total", outcome="stored")``).

    Inside a request the count travels with the request's own figures, in the same Redis
    round trip after the response is made (the webhook is a hot path); elsewhere (jobs,
    CLI) it is sent at once."""
    field = _field(name, labels)
    if has_request_context() and "metrics_started" in g:
        g.setdefault("metrics_pending", []).append((field, amount))
        return
    _add(current_app._get_current_object(), [(field, amount)])  # type: ignore[attr-defined]


DURATION = "portal_http_request_duration_seconds"
# A request is stored in the one bucket it falls in (four Redis commands a request, not
# fourteen); the exposition sums them into Prometheus's cumulative buckets.
_SLOT = f"{DURATION}_slot"


def _request_amounts(endpoint: str, status: int, seconds: float) -> list[tuple[str, float]]:
    slot = next((str(b) for b in BUCKETS if seconds <= b), "+Inf")
    return [
        (_field("portal_http_requests_total", {"endpoint": endpoint, "status": str(status)}), 1),
        (f"{DURATION}_sum", seconds),
        (f"{DURATION}_count", 1),
        (_field(_SLOT, {"le": slot}), 1),
    ]


def _cumulative_buckets(values: dict[str, float]) -> dict[str, float]:
    """The histogram's ``_bucket`` series from the per-slot counts."""
    result, running = {}, 0.0
    for le in [*map(str, BUCKETS), "+Inf"]:
        running += values.get(_field(_SLOT, {"le": le}), 0.0)
        result[_field(f"{DURATION}_bucket", {"le": le})] = running
    return result


def _stored(app: Flask) -> dict[str, float]:
    if not app.config["REDIS_URL"]:
        return dict(_memory)
    from portal.jobs import redis_connection

    raw = redis_connection(app).hgetall(_key(app))
    return {k.decode(): float(v) for k, v in raw.items()}


def _queue_gauges(app: Flask) -> list[str]:
    if not app.config["REDIS_URL"]:
        return []
    from rq.registry import FailedJobRegistry

    from portal.jobs import QUEUES, queue

    queues = {name: queue(name, app) for name in QUEUES}
    return [
        "# HELP portal_queue_depth Jobs waiting in a portal queue.",
        "# TYPE portal_queue_depth gauge",
        *(f'portal_queue_depth{{queue="{name}"}} {len(q)}' for name, q in queues.items()),
        "# HELP portal_jobs_failed Jobs in RQ's failed registry of a portal queue.",
        "# TYPE portal_jobs_failed gauge",
        *(
            f'portal_jobs_failed{{queue="{name}"}} {FailedJobRegistry(queue=q).count}'
            for name, q in queues.items()
        ),
    ]


def exposition(app: Flask) -> str:
    stored = _stored(app)
    values = {f: v for f, v in stored.items() if not f.startswith(_SLOT)}
    if f"{DURATION}_count" in values:
        values.update(_cumulative_buckets(stored))
    lines: list[str] = []
    for name, (kind, text) in HELP.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        fields = [f for f in values if f.split("{")[0].startswith(name)]
        if kind != "histogram":  # a histogram's buckets stay in the order of their bounds
            fields.sort()
        for field in fields:
            number = values[field]
            lines.append(f"{field} {int(number) if number.is_integer() else number}")
    lines += _queue_gauges(app)
    lines += _registered_gauges(app)
    return "\n".join(lines) + "\n"


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
        amounts = g.pop("metrics_pending", [])
        deferred = g.pop("metrics_deferred", [])
        if started is not None and request.endpoint != "metrics.metrics":
            endpoint = request.endpoint or "unmatched"
            seconds = time.perf_counter() - started
            amounts += _request_amounts(endpoint, response.status_code, seconds)
        if amounts or deferred:
            _add(app, amounts, deferred)
        return response
