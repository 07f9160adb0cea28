"""gunicorn settings for the portal: ``gunicorn -c gunicorn.conf.py`` (see the README,
"Run it for real"). Everything can be overridden with the environment variables below.

The portal keeps no state in a worker between requests, so scale with more workers here
and more machines behind the proxy.

Metrics: the workers share their counters through prometheus_client's multiprocess mode,
in ``PROMETHEUS_MULTIPROC_DIR`` — a fresh temporary folder unless the environment names
one (emptied at start, as prometheus_client requires); a scrape of any worker shows the
machine's figures.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

# Set before the app (and prometheus_client) is imported: the workers inherit it.
_made_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _made_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")

wsgi_app = "wsgi:app"
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: requests are short (the slow work runs in `portal worker`).
worker_class = "sync"
timeout = 30
graceful_timeout = 30  # SIGTERM: finish the requests in flight, then exit
keepalive = 5
# Recycle workers now and then so a leak can never grow without bound.
max_requests = 2000
max_requests_jitter = 200
# The portal writes its own JSON access line per request (with the request id and the
# user), so gunicorn's access log stays off; its own errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address and scheme come from the proxy through PORTAL_PROXY_COUNT (ProxyFix).
forwarded_allow_ips = "127.0.0.1"


def on_starting(server: Arbiter) -> None:
    """Figures of an earlier run would be added to this one's: start from an empty folder."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server: Arbiter, worker: Worker) -> None:
    """A worker that exits (max_requests, a crash) keeps its counts; its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Arbiter) -> None:
    if _made_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
