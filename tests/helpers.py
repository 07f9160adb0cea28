"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from typing import Any

import pytest
from flask.testing import FlaskClient

SHOP = "https://shop.example"  # the shop the tests configure (the store fixture)

IN_CI = os.environ.get("CI") == "true"
PASSWORD = "correct-horse-9"
TEST_SECRET = "test-secret-key-not-for-production"


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI=true, where every service must be present."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this service is required)", pytrace=False)
    pytest.skip(reason)


# --- helpers ------------------------------------------------------------------------

# A form's hidden field, or the X-CSRFToken header base.html gives htmx.
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    return csrf_from(client.get(path, follow_redirects=True).get_data(as_text=True))


def login(client: FlaskClient, email: str, password: str = PASSWORD, **environ: Any) -> Any:
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def read_emails(path: Any) -> list[Any]:
    """The emails the file sender appended to ``path`` (PORTAL_MAIL_FILE), oldest first."""
    import email
    import email.policy
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return []
    return [
        email.message_from_string(part, policy=email.policy.default)
        for part in re.split(r"(?m)^(?=From: )", path.read_text(encoding="utf-8"))
        if part.strip()
    ]


def link_in(message: Any) -> str:
    """The path (and query) of the one link in an email's body."""
    from urllib.parse import urlsplit

    links = re.findall(r"https?://\S+", message.get_content())
    assert len(links) == 1, links
    parts = urlsplit(links[0])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def choose_password(client: FlaskClient, link: str, password: str = PASSWORD) -> Any:
    """Open a reset or invitation link and post a new password through its form."""
    token = csrf_token(client, link)
    return client.post(link, data={"password": password, "confirm": password, "csrf_token": token})


def run_together(app: Any, *calls: Any, timeout: float = 60) -> list[BaseException]:
    """Run each callable in its own thread and app context, released at the same moment;
    returns the exceptions they raised."""
    import threading

    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        try:
            with app.app_context():
                barrier.wait()
                call()
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors


def portal_command() -> list[str]:
    """The installed ``portal`` console script (or the module, when not installed)."""
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("portal")
    return [str(script)] if script.exists() else [sys.executable, "-m", "portal.cli"]


def worker_env(app_config: dict[str, Any], redis_url: str, instance: str) -> dict[str, str]:
    """Environment for a ``portal worker`` subprocess on the test database and queue."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        SECRET_KEY=TEST_SECRET,
        PORTAL_INSTANCE_PATH=instance,
        PORTAL_QUEUE=app_config["PORTAL_QUEUE"],
    )
    return env


def burst_worker(env: dict[str, str], timeout: float = 180) -> Any:
    """Run ``portal worker --burst`` in its own process until the queue is empty."""
    import subprocess

    return subprocess.run(
        [*portal_command(), "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def queries_for(app: Any, client: Any, path: str) -> int:
    """How many SQL statements one GET of ``path`` runs (N+1 checks compare two counts)."""
    from sqlalchemy import event

    from portal.extensions import db

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def free_port() -> int:
    """A loopback port nothing listens on (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(
    server: subprocess.Popen[str], url: str, seconds: float = 60
) -> tuple[int, Any, str]:
    """Poll ``url`` until the server just started answers; returns (status, headers,
    body). Fails with the server's output if it exits first, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
                return answer.status, answer.headers, answer.read().decode()
        except OSError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, f"{url} did not come up"
            time.sleep(0.3)
