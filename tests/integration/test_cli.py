"""The ``portal`` console script: in-process through Click, and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.cli import cli
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.links.models import Click
from portal.notifications import services as notifications
from portal.notifications.models import Notification, NotificationKind
from portal.orders.models import Order
from portal.risk.models import FlagStatus, RiskFlag
from portal.withdrawals.models import Withdrawal
from tests.helpers import free_port, login, wait_until_serving


def run(app: Flask, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(cli, list(args), input=input)


def test_create_admin(app: Flask) -> None:
    result = run(app, "create-admin", "Boss@Shop.example", "--password", "long-enough-1")
    assert result.exit_code == 0, result.output
    assert "Created admin boss@shop.example" in result.output
    ops = run(
        app,
        "create-admin",
        "helper@shop.example",
        "--role",
        "ops",
        input="long-enough-2\nlong-enough-2\n",
    )
    assert ops.exit_code == 0, ops.output
    with app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User))}
        assert users["boss@shop.example"].role is Role.ADMIN
        assert users["boss@shop.example"].check_password("long-enough-1")
        assert users["helper@shop.example"].role is Role.OPS


def test_create_admin_errors_are_one_line_and_non_zero(app: Flask) -> None:
    run(app, "create-admin", "boss@shop.example", "--password", "long-enough-1")
    for args, needle in (
        (["create-admin", "boss@shop.example", "--password", "long-enough-1"], "already exists"),
        (["create-admin", "not-an-email", "--password", "long-enough-1"], "not an email"),
        (["create-admin", "x@shop.example", "--password", "short"], "at least 8"),
    ):
        result = run(app, *args)
        assert result.exit_code == 1, (result.output, result.exception)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], lines
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize(
    "email",
    [
        "a@b",  # no dot in the domain
        "boss @shop.example",
        "boss@shop..example",
        "boss@",
        "boss@shop.example\x00",
        "x" * 250 + "@shop.example",  # longer than the login form takes
    ],
)
def test_create_admin_refuses_what_the_login_form_refuses(app: Flask, client, email: str) -> None:
    result = run(app, "create-admin", email, "--password", "long-enough-1")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: not an email address"), lines
    assert login(client, email, "long-enough-1").status_code == 400  # the form refuses it too
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_an_admin_created_on_the_command_line_can_sign_in(app: Flask, client) -> None:
    assert (
        run(app, "create-admin", " Boss@Shop.Example ", "--password", "long-enough-1").exit_code
        == 0
    )
    assert login(client, "boss@shop.example", "long-enough-1").status_code == 302


def test_worker_without_redis_explains_itself(app: Flask) -> None:
    result = run(app, "worker", "--burst")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: REDIS_URL is not set: jobs already run in-process, no worker is needed"
    )


def test_demo_seed_on_the_test_database(app: Flask) -> None:
    result = run(app, "demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.output and "demo-admin-pass" in result.output
    sample_email = result.output.split("distributor", 1)[1].split()[0]
    with app.app_context():
        distributors = list(db.session.scalars(select(Distributor)))
        assert 55 <= len(distributors) <= 70
        assert {d.role for d in distributors} == set(DistributorRole)
        assert db.session.scalar(select(func.count(Level.id))) == 3
        assert {d.level.rank for d in distributors if d.level} == {1, 2, 3}
        by_id = {d.id: d for d in distributors}

        def depth(d: Distributor) -> int:
            return 1 if d.parent_id is None else 1 + depth(by_id[d.parent_id])

        assert max(depth(d) for d in distributors) == 3
        assert any(d.status is DistributorStatus.APPLIED for d in distributors)
        for d in distributors:
            if d.parent_id and d.joined_at and by_id[d.parent_id].joined_at:
                assert d.joined_at > by_id[d.parent_id].joined_at
        # Every screen of the sample distributor shows real numbers, and the books balance.
        sample = db.session.scalar(
            select(Distributor).join(Distributor.user).where(User.email == sample_email)
        )
        assert ledger.verify() == []
        assert all(ledger.balances(sample.id)[b] > 0 for b in (Bucket.AVAILABLE, Bucket.PAID))
        clicks = select(func.count(Click.id)).where(Click.distributor_id == sample.id)
        assert db.session.scalar(clicks) > 100
        assert db.session.scalar(select(func.count(Withdrawal.id))) == 2
        assert db.session.scalar(select(func.count(Product.id))) >= 5
        methods = db.session.scalars(select(Order.attribution_method).distinct())
        assert set(methods) == {"coupon", "ref_meta", "utm", "binding", "pickup", "renewal"}
        # The money rules at work: a rejected order, a refund after payout (a negative
        # carry), a campaign bonus clawed back before it matured.
        rejected = select(RiskFlag.id).where(RiskFlag.status == FlagStatus.REJECTED)
        assert db.session.scalar(rejected) is not None
        carried = select(LedgerEntry.id).where(
            LedgerEntry.distributor_id == sample.id,
            LedgerEntry.bucket == Bucket.AVAILABLE.value,
            LedgerEntry.kind == EntryKind.ADJUSTMENT.value,
            LedgerEntry.amount < 0,
        )
        assert db.session.scalar(carried) is not None
        clawed = select(LedgerEntry.id).where(
            LedgerEntry.kind == EntryKind.BONUS.value, LedgerEntry.amount < 0
        )
        assert db.session.scalar(clawed) is not None
        # No winner is told the same thing twice (#17 item 6: a tier bonus and a prize
        # were two identical "You won the campaign …" notices).
        won = list(
            db.session.scalars(
                select(Notification).where(Notification.kind == NotificationKind.CAMPAIGN_WON)
            )
        )
        told = [(n.distributor_id, notifications.message(n)) for n in won]
        assert won and len(set(told)) == len(told)
    again = run(app, "demo", "--no-serve")
    assert again.exit_code == 0 and "not seeding again" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Distributor.id))) == len(distributors)


def test_console_script_demo_on_an_empty_sqlite(tmp_path: Path) -> None:
    """The README's promise: a fresh instance folder, nothing configured, one command that
    migrates, seeds and serves."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    }
    env["PORTAL_INSTANCE_PATH"] = str(tmp_path)
    portal = Path(sys.executable).with_name("portal")
    command = [str(portal)] if portal.exists() else [sys.executable, "-m", "portal.cli"]
    port = free_port()
    server = subprocess.Popen(
        [*command, "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, _, page = wait_until_serving(server, f"http://127.0.0.1:{port}/login")
        assert status == 200
        assert "Sign in" in page
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "Seeded the demo programme." in output
    assert "admin@demo.example" in output
    assert (tmp_path / "portal.db").exists() and (tmp_path / "secret_key").exists()
    bad = subprocess.run(
        [*command, "create-admin", "admin@demo.example", "--password", "whatever-long"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "Error: admin@demo.example: An account with this email already exists."
    ]
