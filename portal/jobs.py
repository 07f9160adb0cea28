"""Queue wiring: RQ on Redis when ``REDIS_URL`` is set, a direct call otherwise.

Periodic jobs are declared once (:func:`every`) and fired by a :class:`Ticker` thread:
under ``portal worker`` it enqueues into RQ, guarded by a Redis key per job so that any
number of workers on any number of machines enqueue each run once; under ``portal demo`` /
``portal run`` without Redis it calls the job in-process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue, SimpleWorker

from portal.extensions import db

log = logging.getLogger(__name__)

_EXT_KEY = "portal.periodic"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable[[], Any]
    seconds: int


def every(app: Flask, seconds: int, func: Callable[[], Any], name: str | None = None) -> None:
    """Declare ``func`` to run every ``seconds`` (plugins call this from their ``load``)."""
    job = PeriodicJob(name or f"{func.__module__}.{func.__qualname__}", func, seconds)
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


def queue(app: Flask | None = None) -> Queue:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return Queue(app.config["PORTAL_QUEUE"], connection=redis_connection(app))


def enqueue(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``func`` through RQ, or call it right here when no Redis is configured.

    Call it after committing: an in-process job shares the caller's session.
    """
    if not current_app.config["REDIS_URL"]:
        return func(*args, **kwargs)
    return queue().enqueue(func, *args, **kwargs)


class PortalWorker(SimpleWorker):
    """Runs jobs in the worker process (no fork: ~3x the throughput on small jobs) and
    gives every job a fresh database session."""

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
                    enqueue(job.func)
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


def run_worker(app: Flask, burst: bool = False) -> bool:
    """Work the portal queue with RQ's scheduler, plus the periodic ticker."""
    ticker = Ticker(app)
    if not burst:
        ticker.start()
    try:
        worker = PortalWorker([queue(app)], connection=redis_connection(app))
        return worker.work(burst=burst, with_scheduler=True)
    finally:
        ticker.stop()
