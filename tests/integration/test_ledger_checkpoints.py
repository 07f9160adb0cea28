"""Balance checkpoints: a balance is a checkpoint plus the entries after it, and must equal
the plain sum of the entries however the checkpoints fall; ``portal ledger verify``
recomputes them; a checkpoint written while entries are inserted never skips or doubles
one (PostgreSQL, where ids are handed out before commit)."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.cli import cli
from portal.cursors import JobCursor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import (
    EARNING_KINDS,
    Bucket,
    EntryKind,
    LedgerCheckpoint,
    LedgerCheckpointDay,
    LedgerEntry,
)

D = Decimal
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 20


def book(
    distributor_id: int,
    bucket: Bucket,
    amount: Decimal,
    kind: EntryKind = EntryKind.MANUAL,
    at: datetime | None = None,
) -> None:
    journal = ledger.Journal(at)
    journal.book(distributor_id, bucket, amount, "USD", kind, "test")
    journal.write()


def direct_days(distributor_id: int) -> dict[date, Decimal]:
    """Earnings per UTC day summed in Python from every entry."""
    result: dict[date, Decimal] = defaultdict(Decimal)
    for kind, at, amount in db.session.execute(
        sa.select(LedgerEntry.kind, LedgerEntry.created_at, LedgerEntry.amount).where(
            LedgerEntry.distributor_id == distributor_id
        )
    ):
        if kind in EARNING_KINDS:
            result[at.astimezone(UTC).date()] += amount
    return {d: v for d, v in result.items() if v}


def earned(distributor_id: int) -> dict[date, Decimal]:
    found = ledger.earned_per_day(distributor_id, START, START + timedelta(days=DAYS + 1))
    return {d: v for d, v in found.items() if v}


def direct(distributor_id: int) -> dict[Bucket, Decimal]:
    """The balances summed in Python from every entry: what checkpoints must reproduce."""
    result = dict.fromkeys(Bucket, D(0))
    for bucket, amount in db.session.execute(
        sa.select(LedgerEntry.bucket, LedgerEntry.amount).where(
            LedgerEntry.distributor_id == distributor_id
        )
    ):
        result[Bucket(bucket)] += amount
    return result


@pytest.fixture
def people(app: Flask, make_distributor) -> list[int]:
    return [make_distributor(f"p{n}@shop.example")[0] for n in range(5)]


@pytest.mark.parametrize("seed", range(6))
def test_balances_equal_with_and_without_checkpoints(app: Flask, people, seed: int) -> None:
    """Property-style: random entries (every bucket, both signs, zero-sum runs) with
    checkpoint runs at random moments and random batch sizes."""
    rng = random.Random(seed)
    with app.app_context():
        for _step in range(rng.randint(20, 60)):
            for _ in range(rng.randint(1, 8)):
                cents = rng.randint(-50_000, 90_000)
                # Any day, in any order of ids (a replayed history books old days late).
                at = START + timedelta(days=rng.randint(0, DAYS), seconds=rng.randint(0, 86399))
                kind = rng.choice([EntryKind.MANUAL, EntryKind.ACCRUAL, EntryKind.TRANSFER])
                book(rng.choice(people), rng.choice(list(Bucket)), D(cents) / 100, kind, at)
            db.session.commit()
            plain = {d: (ledger.balances(d), earned(d)) for d in people}
            if rng.random() < 0.3:
                ledger.write_checkpoints(batch=rng.randint(1, 4), budget=rng.choice([0, 60]))
            for d in people:
                assert ledger.balances(d) == plain[d][0] == direct(d), (seed, d)
                assert earned(d) == plain[d][1] == direct_days(d), (seed, d)
            assert ledger.checkpoint_problems() == []
        while db.session.get(JobCursor, ledger.AFTER_CURSOR).position:  # finish a run
            ledger.write_checkpoints(batch=2, budget=0)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerCheckpoint))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerCheckpointDay))
        for d in people:
            assert ledger.balances(d) == direct(d)
            assert earned(d) == direct_days(d)


def test_job_is_resumable_and_keeps_its_bound(app: Flask, people) -> None:
    with app.app_context():
        for d in people:
            book(d, Bucket.AVAILABLE, D("10.00"))
        db.session.commit()
        bound = db.session.scalar(sa.select(sa.func.max(LedgerEntry.id)))
        assert ledger.write_checkpoints(batch=2, budget=0) == 2  # stopped after one batch
        assert db.session.get(JobCursor, ledger.AFTER_CURSOR).position == people[1]
        book(people[0], Bucket.AVAILABLE, D("1.00"))  # after the run's bound
        book(people[4], Bucket.AVAILABLE, D("2.00"))
        db.session.commit()
        assert ledger.write_checkpoints(batch=2, budget=60) == 3  # carries on, same bound
        uptos = set(db.session.scalars(sa.select(LedgerCheckpoint.upto_id)))
        assert uptos == {bound}
        assert db.session.get(JobCursor, ledger.AFTER_CURSOR).position == 0  # run finished
        assert ledger.balances(people[4])[Bucket.AVAILABLE] == D("12.00")
        # The next run starts at a new bound and rewrites only who has new entries.
        assert ledger.write_checkpoints(batch=2, budget=60) == 2
        assert ledger.write_checkpoints() == 0  # nothing new
        assert ledger.checkpoint_problems() == []
        assert [ledger.balances(d)[Bucket.AVAILABLE] for d in people] == [
            D("11.00"),
            D("10.00"),
            D("10.00"),
            D("10.00"),
            D("12.00"),
        ]


def test_verify_fails_on_a_tampered_or_missing_checkpoint(app: Flask, people) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        for d in people[:2]:
            book(d, Bucket.AVAILABLE, D("25.00"))
            book(d, Bucket.PAID, D("5.00"))
        db.session.commit()
        ledger.write_checkpoints()
    ok = runner.invoke(cli, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        db.session.execute(
            sa.update(LedgerCheckpoint)
            .where(
                LedgerCheckpoint.distributor_id == people[0],
                LedgerCheckpoint.bucket == Bucket.AVAILABLE.value,
            )
            .values(amount=D("26.00"))
        )
        db.session.execute(
            sa.delete(LedgerCheckpoint).where(
                LedgerCheckpoint.distributor_id == people[1],
                LedgerCheckpoint.bucket == Bucket.PAID.value,
            )
        )
        db.session.commit()
        db.session.execute(
            sa.update(LedgerCheckpointDay)
            .where(LedgerCheckpointDay.distributor_id == people[1])
            .values(earned=LedgerCheckpointDay.earned + 1)
        )
        db.session.commit()
    failed = runner.invoke(cli, ["ledger", "verify"])
    assert failed.exit_code == 1
    lines = failed.output.strip().splitlines()
    assert f"distributor {people[0]}: available checkpoint" in lines[0]
    assert "26.0000" in lines[0] and "25.0000" in lines[0]
    assert f"distributor {people[1]}: paid checkpoint (missing)" in lines[1]
    assert f"distributor {people[1]}: earned on " in lines[2]
    assert "31.0000" in lines[2] and "30.0000" in lines[2]
    assert lines[-1] == "Error: ledger verify: 3 problem(s)"


def _other_connection_insert(app: Flask, distributor_id: int, amount: str):
    """An entry inserted on a connection of its own, left open (the caller commits)."""
    conn = db.engine.connect()
    transaction = conn.begin()
    conn.execute(
        sa.insert(LedgerEntry).values(
            distributor_id=distributor_id,
            bucket=Bucket.AVAILABLE.value,
            amount=D(amount),
            currency="USD",
            kind=EntryKind.MANUAL.value,
            reference="open",
        )
    )
    return conn, transaction


def test_checkpoint_waits_for_an_open_insert_with_a_lower_id(app: Flask, people) -> None:
    """The dangerous order: entry N is inserted and not yet committed, N+1 is committed,
    the job runs. A bound of max(id) = N+1 would skip N for ever; the job must wait for
    N's transaction and include it (or, had it rolled back, nothing)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: ids grow in commit order")
        conn, transaction = _other_connection_insert(app, people[0], "7.00")
        book(people[0], Bucket.AVAILABLE, D("3.00"))
        db.session.commit()
        done: list[int] = []
        job = threading.Thread(
            target=lambda: done.append(_in_context(app, ledger.write_checkpoints))
        )
        job.start()
        time.sleep(0.5)
        assert not done  # waiting for the open transaction
        transaction.commit()
        conn.close()
        job.join(timeout=30)
        assert done == [1]
        db.session.remove()
        assert ledger.balances(people[0])[Bucket.AVAILABLE] == D("10.00")
        assert ledger.checkpoint_problems() == []
        upto = db.session.scalar(sa.select(sa.func.max(LedgerCheckpoint.upto_id)))
        assert upto == db.session.scalar(sa.select(sa.func.max(LedgerEntry.id)))


def _in_context(app: Flask, call):
    with app.app_context():
        try:
            return call()
        finally:
            db.session.remove()


def test_checkpoints_under_concurrent_inserts(app: Flask, people) -> None:
    """Writers insert entries in transactions of random length while the job runs again
    and again; at the end every balance equals the plain sum (no entry skipped or
    doubled) and verify agrees."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers need PostgreSQL")
    stop = threading.Event()
    errors: list[BaseException] = []
    booked: dict[int, Decimal] = defaultdict(Decimal)
    lock = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with app.app_context():
            try:
                while not stop.is_set():
                    for _ in range(rng.randint(1, 3)):
                        d, amount = rng.choice(people), D(rng.randint(1, 999)) / 100
                        book(d, Bucket.AVAILABLE, amount)
                        with lock:
                            booked[d] += amount
                        time.sleep(rng.random() * 0.02)  # the transaction stays open
                    db.session.commit()
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    def checkpointer() -> None:
        with app.app_context():
            try:
                while not stop.is_set():
                    ledger.write_checkpoints(batch=2)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=checkpointer))
    for thread in threads:
        thread.start()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with app.app_context():
        ledger.write_checkpoints()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerCheckpoint))
        assert ledger.checkpoint_problems() == []
        for d in people:
            assert ledger.balances(d)[Bucket.AVAILABLE] == booked[d] == direct(d)[Bucket.AVAILABLE]
