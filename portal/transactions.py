"""The one place that commits: services add and flush, a unit of work commits.

There are two kinds of unit. A request is one: :func:`init_app` commits in
``after_request`` when the response is a success or a redirect (status below 400), and
commits nothing otherwise — a refused form (400/409/422), a 404 or a 500 page leaves the
session to be rolled back when Flask-SQLAlchemy removes it at the end of the app context.
``after_request`` rather than ``teardown_request``: it runs before the response leaves,
so a commit that fails becomes the 500 page instead of a success page over lost work
(teardown errors are only logged). A streamed response (the CSV exports) only reads; its
body runs after the commit, on the same open session. A job is the other unit:
:func:`unit` wraps every job the runner performs (:mod:`portal.jobs`), and CLI commands.

Work that must see the unit's rows committed — jobs enqueued by it — waits in
:func:`after_commit` and runs only if the unit commits.

A few batch jobs commit inside themselves on purpose, so that each item (an order of the
inbox, a customer, a payout) keeps its own fate, and a refused request may :func:`keep`
what it must leave behind; ``tests/unit/test_commit_sites.py`` lists them with the
reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, Response, g

from portal.extensions import db

_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar(
    "portal_after_commit", default=None
)


def after_commit(call: Callable[[], object]) -> bool:
    """Run ``call`` once the current unit commits (never if it does not); False when no
    unit is open, and the caller runs it now."""
    pending = _pending.get()
    if pending is None:
        return False
    pending.append(call)
    return True


def keep() -> None:
    """Commit now what a refused request must leave behind though it answers an error
    (a failed sign-in counted towards the throttle), then run what waited for it."""
    db.session.commit()
    pending = _pending.get()
    if pending:
        _run(list(pending))
        pending.clear()


def _run(pending: list[Callable[[], object]]) -> None:
    for call in pending:
        call()


@contextmanager
def unit() -> Iterator[None]:
    """A job's (or a command's) unit of work: commit when the body returns, roll back
    when it raises; then what waited for the commit."""
    pending: list[Callable[[], object]] = []
    token = _pending.set(pending)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _pending.reset(token)
    _run(pending)


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the request loaded: a streamed body (the CSV
    exports) still reads those objects after the commit, when the session that loaded
    them may be gone, and the request's session ends with it anyway."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def init_app(app: Flask) -> None:
    @app.before_request
    def _open_unit() -> None:
        g.portal_unit = _pending.set([])

    @app.after_request
    def _commit_unit(response: Response) -> Response:
        pending = _pending.get() or []
        _pending.set(None)  # what runs after the commit is a unit of its own
        if response.status_code < 400:
            _commit_keeping_loaded()
            _run(pending)
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _close_unit(_exc: BaseException | None) -> None:
        token = g.pop("portal_unit", None)
        if token is not None:
            _pending.reset(token)
