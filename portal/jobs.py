"""Queue wiring: RQ on Redis when ``REDIS_URL`` is set, a direct call otherwise.

Two queues: :data:`INTAKE` carries what books commissions (the shop's inbox drains, the
sweep of orders whose commissions are due), :data:`BACKGROUND` everything else (periodic
jobs, emails, shop pushes, campaign awards). A worker takes intake first, and workers can
be given one queue each, so an hour-long background job never delays commission booking.
Every job states its timeout (RQ's default would kill a long job at 180 s).

Periodic jobs are declared once (:func:`every`) and fired by a :class:`Ticker` thread:
under ``portal worker`` it enqueues into RQ, guarded by a Redis key per job so that any
number of workers on any number of machines enqueue each run once; under ``portal demo`` /
``portal run`` without Redis it calls the job in-process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, SimpleWorker
from rq.job import Job

from portal import transactions
from portal.extensions import db

log = logging.getLogger(__name__)

_EXT_KEY = "portal.periodic"
INTAKE = "intake"
BACKGROUND = "background"
QUEUES = (INTAKE, BACKGROUND)  # the order a worker given both takes them in


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable[[], Any]
    seconds: int
    timeout: int  # seconds a run may take before RQ stops it
    queue: str


def every(
    app: Flask,
    seconds: int,
    func: Callable[[], Any],
    name: str | None = None,
    *,
    timeout: int,
    queue: str = BACKGROUND,
) -> None:
    """Declare ``func`` to run every ``seconds`` on ``queue``, stopped after ``timeout``
    seconds (plugins call this from their ``load``)."""
    job = PeriodicJob(
        name or f"{func.__module__}.{func.__qualname__}", func, seconds, timeout, queue
    )
    app.extensions.setdefault(_EXT_KEY, {})[job.name] = job


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    return list(app.extensions.get(_EXT_KEY, {}).values())


def redis_connection(app: Flask | None = None) -> redis.Redis:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    conn = app.extensions.get("portal.redis")
    if conn is None:
        conn = redis.Redis.from_url(app.config["REDIS_URL"])
        app.extensions["portal.redis"] = conn
    return conn


def redis_ok() -> bool:
    try:
        return bool(redis_connection().ping())
    except redis.RedisError:
        return False


def queue(name: str, app: Flask | None = None) -> Queue:
    """One of :data:`QUEUES` (in Redis ``<PORTAL_QUEUE>-<name>``)."""
    if name not in QUEUES:
        raise ValueError(f"no such queue: {name!r}")
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return Queue(f"{app.config['PORTAL_QUEUE']}-{name}", connection=redis_connection(app))


_queue = queue  # enqueue's keyword ``queue`` hides the function's name inside it


def enqueue(func: Callable[..., Any], *args: Any, queue: str, timeout: int, **kwargs: Any) -> Any:
    """Run ``func`` through RQ on ``queue``, stopped after ``timeout`` seconds, or call it
    right here, as a unit of its own, when no Redis is configured.

    Inside a unit of work (a request, a job) the job waits until the unit commits, so it
    sees the unit's rows, and is dropped if the unit does not commit; it then returns
    None, otherwise the RQ job (or, in process, the function's result).
    """
    if transactions.after_commit(lambda: _dispatch(func, args, kwargs, queue, timeout)):
        return None
    return _dispatch(func, args, kwargs, queue, timeout)


def _dispatch(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], name: str, timeout: int
) -> Any:
    if not current_app.config["REDIS_URL"]:
        with transactions.unit():
            return func(*args, **kwargs)
    return _queue(name).enqueue(func, *args, job_timeout=timeout, **kwargs)


class UnitJob(Job):
    """A job is a unit of work: the runner commits when it returns, rolls back when it
    raises (:func:`portal.transactions.unit`)."""

    def perform(self) -> Any:
        with transactions.unit():
            return super().perform()


class PortalWorker(SimpleWorker):
    """Runs jobs in the worker process (no fork: ~3x the throughput on small jobs), each
    one a unit of work (:class:`UnitJob`), and gives every job a fresh database session."""

    job_class = UnitJob

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            db.session.remove()


class Ticker(threading.Thread):
    """Fires due periodic jobs; ``tick()`` is one pass and is what the tests drive."""

    def __init__(self, app: Flask, interval: float | None = None) -> None:
        super().__init__(name="portal-ticker", daemon=True)
        self.app = app
        self.interval = interval or app.config["PORTAL_SCHEDULER_TICK"]
        self.stopped = threading.Event()
        self._last_run: dict[str, float] = {}

    def _claim(self, job: PeriodicJob) -> bool:
        if self.app.config["REDIS_URL"]:
            key = f"{self.app.config['PORTAL_QUEUE']}:periodic:{job.name}"
            return bool(
                redis_connection(self.app).set(key, int(time.time()), nx=True, ex=job.seconds)
            )
        now = time.monotonic()
        last = self._last_run.get(job.name)
        if last is not None and now - last < job.seconds:
            return False
        self._last_run[job.name] = now
        return True

    def tick(self) -> list[str]:
        fired = []
        with self.app.app_context():
            for job in periodic_jobs(self.app):
                if not self._claim(job):
                    continue
                fired.append(job.name)
                try:
                    enqueue(job.func, queue=job.queue, timeout=job.timeout)
                except Exception:  # one failing job must not stop the others
                    log.exception("periodic job %s failed", job.name)
                finally:
                    if not self.app.config["REDIS_URL"]:
                        db.session.remove()
        return fired

    def run(self) -> None:
        while True:
            self.tick()
            if self.stopped.wait(self.interval):
                return

    def stop(self) -> None:
        self.stopped.set()


def run_worker(app: Flask, burst: bool = False, queues: Sequence[str] = QUEUES) -> bool:
    """Work ``queues`` (intake first when both) with RQ's scheduler, plus the periodic
    ticker."""
    ticker = Ticker(app)
    if not burst:
        ticker.start()
    try:
        ordered = [queue(name, app) for name in QUEUES if name in queues]
        worker = PortalWorker(ordered, connection=redis_connection(app))
        return worker.work(burst=burst, with_scheduler=True)
    finally:
        ticker.stop()
