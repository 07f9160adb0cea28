"""``portal worker --burst`` with a fault injected where a drain's work is half done.

``CRASH_WINDOW`` names the window, ``CRASH_AT`` the how-manieth time the drain reaches it
that faults (``CRASH_ACTION=drop``: that time and every second one after it), and
``CRASH_BATCH`` the deliveries per transaction:

* ``claimed``: the batch's rows locked and their attempts counted;
* ``stored``: its orders stored and flushed, their commissions not run;
* ``applied``: commissions and ledger flushed, the rows marked processed, not committed;
* ``committed``: the batch committed, the job not finished.

``CRASH_ACTION=kill`` (the default) SIGKILLs the worker process; ``drop`` has the
database end the worker's connections (``pg_terminate_backend`` of every connection named
``PGAPPNAME``; PostgreSQL only), as a restart or a failover of the server would.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from plugins.woocommerce_bridge import inbox
from portal.cli import cli
from portal.commissions import services as commissions
from portal.extensions import db

WINDOW = os.environ["CRASH_WINDOW"]
AT = int(os.environ["CRASH_AT"])
ACTION = os.environ.get("CRASH_ACTION", "kill")
hits = 0


def fault(*_: Any) -> None:
    global hits
    hits += 1
    if hits < AT:
        return
    if ACTION == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if (hits - AT) % 2 == 0:
        drop_connections()


def drop_connections() -> None:
    """End every server connection of this worker (``PGAPPNAME``), from one of its own."""
    killer = create_engine(
        db.engine.url, poolclass=NullPool, connect_args={"application_name": "crash-killer"}
    )
    with killer.connect() as conn:
        ended = conn.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE application_name = :name"
            ),
            {"name": os.environ["PGAPPNAME"]},
        )
    killer.dispose()
    print(f"crash-worker: ended {ended} connection(s)", file=sys.stderr, flush=True)


def before(func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        fault()
        return func(*args, **kwargs)

    return wrapped


def after(func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        fault()
        return result

    return wrapped


inbox.BATCH = int(os.environ.get("CRASH_BATCH", inbox.BATCH))  # more windows per story
if WINDOW == "claimed":
    inbox._claim = after(inbox._claim)
elif WINDOW == "stored":
    commissions.run_orders = before(commissions.run_orders)
elif WINDOW == "applied":
    inbox._process = after(inbox._process)
elif WINDOW == "committed":
    event.listen(Session, "after_commit", fault)
else:
    raise SystemExit(f"unknown CRASH_WINDOW {WINDOW!r}")

if __name__ == "__main__":
    cli(["worker", "--burst"])
