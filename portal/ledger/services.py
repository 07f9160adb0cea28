"""Booking and reading the ledger. Every balance is a sum of entries: a checkpoint (the
sum up to an entry id, :class:`LedgerCheckpoint`) plus the entries after it."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import column, delete, func, select, table, text, union_all, update

from portal import bulk
from portal.cursors import JobCursor
from portal.extensions import db
from portal.ledger.models import (
    EARNING_KINDS,
    Bucket,
    EntryKind,
    LedgerCheckpoint,
    LedgerCheckpointDay,
    LedgerEntry,
)
from portal.timeutil import as_date, utc_date, utcnow

ZERO = Decimal(0)
# The ledger's owners, named by their table: the distributors package books into the
# ledger, so the ledger does not import it.
_DISTRIBUTORS = table("distributors", column("id"))
# Named in every per-distributor read so that PostgreSQL scans the (distributor, bucket,
# id) index as one range per bucket.
ALL_BUCKETS = [b.value for b in Bucket]
# The checkpoint job's cursors: the entry id its current run sums up to, and the last
# distributor id that run has done (0: no run in progress).
BOUND_CURSOR = "ledger.checkpoints.bound"
AFTER_CURSOR = "ledger.checkpoints.after"


class Journal:
    """Entries collected during one unit of work, written with a single INSERT.

    Batch work (commission runs over many orders) books hundreds of entries; as plain
    rows (:mod:`portal.bulk`) they skip the ORM's per-object bookkeeping. Call
    :meth:`write` before committing.

    Entries are stamped with the unit of work's clock ``at`` (now, unless a caller such as
    the demo seed replays history), so one run's entries share one timestamp.
    """

    def __init__(self, at: datetime | None = None) -> None:
        self.rows: list[dict[str, object]] = []
        self.at = at

    def book(
        self,
        distributor_id: int,
        bucket: Bucket,
        amount: Decimal,
        currency: str,
        kind: EntryKind,
        reference: str,
        commission_id: int | None = None,
    ) -> None:
        """One entry; zero amounts are not booked."""
        if amount == ZERO:
            return
        self.rows.append(
            {
                "distributor_id": distributor_id,
                "bucket": bucket.value,
                "amount": amount,
                "currency": currency,
                "kind": kind.value,
                "reference": reference,
                "commission_id": commission_id,
                "created_at": self.at or utcnow(),
            }
        )

    def transfer(
        self,
        distributor_id: int,
        source: Bucket,
        target: Bucket,
        amount: Decimal,
        currency: str,
        reference: str,
        commission_id: int | None = None,
        kind: EntryKind = EntryKind.TRANSFER,
    ) -> None:
        """Move money between buckets: a pair of entries that sums to zero."""
        if amount == ZERO or source is target:
            return
        self.book(distributor_id, source, -amount, currency, kind, reference, commission_id)
        self.book(distributor_id, target, amount, currency, kind, reference, commission_id)

    def write(self) -> None:
        bulk.insert_rows(LedgerEntry.__table__, self.rows)
        self.rows = []


def lock_distributor(distributor_id: int) -> None:
    """Serialise money work per distributor (withdrawals, manual adjustments), portably:
    this UPDATE takes the row lock on PostgreSQL (FOR NO KEY UPDATE: the id does not
    change, so ledger inserts referencing the row are not blocked) and the write lock on
    SQLite, before anything is read."""
    db.session.execute(
        update(_DISTRIBUTORS)
        .where(_DISTRIBUTORS.c.id == distributor_id)
        .values(id=_DISTRIBUTORS.c.id)
        .execution_options(synchronize_session=False)
    )


def balances(distributor_id: int) -> dict[Bucket, Decimal]:
    """Amount per bucket for one distributor (every bucket present, zero when empty): the
    distributor's checkpoints plus the entries after their ``upto_id`` — two index ranges,
    however long the distributor's history."""
    mine = LedgerCheckpoint.distributor_id == distributor_id
    upto = select(func.max(LedgerCheckpoint.upto_id)).where(mine).scalar_subquery()
    parts = union_all(
        select(LedgerCheckpoint.bucket, LedgerCheckpoint.amount).where(mine),
        select(LedgerEntry.bucket, LedgerEntry.amount).where(
            LedgerEntry.distributor_id == distributor_id,
            LedgerEntry.bucket.in_(ALL_BUCKETS),
            LedgerEntry.id > func.coalesce(upto, 0),
        ),
    ).subquery()
    rows = db.session.execute(
        select(parts.c.bucket, func.sum(parts.c.amount)).group_by(parts.c.bucket)
    )
    result = dict.fromkeys(Bucket, ZERO)
    # "+ ZERO" turns the -0.0000 of SQLite's float sums into 0.0000.
    result.update({Bucket(bucket): Decimal(total) + ZERO for bucket, total in rows})
    return result


def earned_per_day(distributor_id: int, start: datetime, end: datetime) -> dict[date, Decimal]:
    """What the distributor earned per UTC day in [start, end) (both at UTC midnight): the
    checkpoint's days plus the entries after the checkpoint, each an index range."""
    mine = LedgerCheckpoint.distributor_id == distributor_id
    upto = select(func.max(LedgerCheckpoint.upto_id)).where(mine).scalar_subquery()
    result: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for day, earned in db.session.execute(
        select(LedgerCheckpointDay.day, LedgerCheckpointDay.earned).where(
            LedgerCheckpointDay.distributor_id == distributor_id,
            LedgerCheckpointDay.day >= start.date(),
            LedgerCheckpointDay.day < end.date(),
        )
    ):
        result[day] += earned
    day = utc_date(LedgerEntry.created_at)
    for d, total in db.session.execute(
        select(day, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.distributor_id == distributor_id,
            LedgerEntry.bucket.in_(ALL_BUCKETS),
            LedgerEntry.id > func.coalesce(upto, 0),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            LedgerEntry.kind.in_(EARNING_KINDS),
        )
        .group_by(day)
    ):
        result[as_date(d)] += Decimal(total)
    return {d: v + ZERO for d, v in result.items()}


def _cursor(name: str) -> JobCursor:
    """The named cursor, row-locked (two runs of the job take turns, batch by batch)."""
    cursor = db.session.get(JobCursor, name, with_for_update=True)
    if cursor is None:
        cursor = JobCursor(name=name, position=0)
        db.session.add(cursor)
        db.session.flush()
    return cursor


def committed_bound() -> int:
    """The highest entry id such that every entry up to it is committed. Commits.

    ``max(id)`` alone is not that on PostgreSQL: ids come from a sequence when a row is
    inserted, so a transaction still open may hold a lower id than rows already visible,
    and a checkpoint up to ``max(id)`` would skip that entry for ever. Taking the table in
    SHARE mode waits for every transaction that has inserted entries to end (and holds off
    new inserts for the moment it takes to read the maximum); any entry inserted later
    gets a higher id. SQLite has one writer at a time, so its ids grow in commit order.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL lock_timeout = '10s'"))
        db.session.execute(text("LOCK TABLE ledger_entries IN SHARE MODE"))
    bound = db.session.scalar(select(func.coalesce(func.max(LedgerEntry.id), 0)))
    db.session.commit()
    return int(bound)


def write_checkpoints(batch: int = 1000, budget: float = 120.0) -> int:
    """Periodic: bring every distributor's checkpoints up to a committed bound, ``batch``
    distributors per transaction. Resumable: the bound and the last distributor done are
    job cursors, so a run stopped (by its time ``budget``, a timeout or a crash) is
    continued by the next one with the same bound. Returns the distributors checkpointed.
    """
    started = time.monotonic()
    after = _cursor(AFTER_CURSOR)
    bound = _cursor(BOUND_CURSOR)
    if after.position == 0:  # no run in progress: start one at a new bound
        previous = bound.position
        db.session.commit()
        new_bound = committed_bound()
        if new_bound == previous:
            return 0
        bound = _cursor(BOUND_CURSOR)
        bound.position = new_bound
    db.session.commit()
    done = 0
    while True:
        after = _cursor(AFTER_CURSOR)
        upto = _cursor(BOUND_CURSOR).position
        ids = list(
            db.session.scalars(
                select(_DISTRIBUTORS.c.id)
                .where(_DISTRIBUTORS.c.id > after.position)
                .order_by(_DISTRIBUTORS.c.id)
                .limit(batch)
            )
        )
        if not ids:
            after.position = 0
            db.session.commit()
            break
        done += _checkpoint(ids, upto)
        after.position = ids[-1]
        db.session.commit()
        if time.monotonic() - started >= budget:
            break  # the next run carries on from here
    return done


def _checkpoint(distributor_ids: list[int], bound: int) -> int:
    """Checkpoints of these distributors up to ``bound``: the old ones plus the entries
    in between (only distributors with such entries are rewritten). Returns how many."""
    old = db.session.execute(
        select(
            LedgerCheckpoint.distributor_id,
            LedgerCheckpoint.bucket,
            LedgerCheckpoint.upto_id,
            LedgerCheckpoint.amount,
        ).where(LedgerCheckpoint.distributor_id.in_(distributor_ids))
    ).all()
    sums: dict[tuple[int, str], Decimal] = {(d, b): amount for d, b, _upto, amount in old}
    uptos = (
        select(
            LedgerCheckpoint.distributor_id.label("distributor_id"),
            func.max(LedgerCheckpoint.upto_id).label("upto"),
        )
        .where(LedgerCheckpoint.distributor_id.in_(distributor_ids))
        .group_by(LedgerCheckpoint.distributor_id)
        .subquery()
    )
    delta = db.session.execute(
        select(LedgerEntry.distributor_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .outerjoin(uptos, uptos.c.distributor_id == LedgerEntry.distributor_id)
        .where(
            LedgerEntry.distributor_id.in_(distributor_ids),
            LedgerEntry.bucket.in_(ALL_BUCKETS),
            LedgerEntry.id > func.coalesce(uptos.c.upto, 0),
            LedgerEntry.id <= bound,
        )
        .group_by(LedgerEntry.distributor_id, LedgerEntry.bucket)
    ).all()
    changed = {d for d, _bucket, _total in delta}
    for d, bucket, total in delta:
        sums[(d, bucket)] = sums.get((d, bucket), ZERO) + Decimal(total)
    if not changed:
        return 0
    day = utc_date(LedgerEntry.created_at)
    earned = {
        (d, as_date(on)): Decimal(total)
        for d, on, total in db.session.execute(
            select(LedgerEntry.distributor_id, day, func.sum(LedgerEntry.amount))
            .outerjoin(uptos, uptos.c.distributor_id == LedgerEntry.distributor_id)
            .where(
                LedgerEntry.distributor_id.in_(changed),
                LedgerEntry.bucket.in_(ALL_BUCKETS),
                LedgerEntry.id > func.coalesce(uptos.c.upto, 0),
                LedgerEntry.id <= bound,
                LedgerEntry.kind.in_(EARNING_KINDS),
            )
            .group_by(LedgerEntry.distributor_id, day)
        )
    }
    _add_days(earned)
    now = utcnow()
    db.session.execute(
        delete(LedgerCheckpoint)
        .where(LedgerCheckpoint.distributor_id.in_(changed))
        .execution_options(synchronize_session=False)
    )
    bulk.insert_rows(
        LedgerCheckpoint.__table__,
        [
            {"distributor_id": d, "bucket": b, "upto_id": bound, "amount": v, "written_at": now}
            for (d, b), v in sums.items()
            if d in changed
        ],
    )
    return len(changed)


def _add_days(earned: dict[tuple[int, date], Decimal]) -> None:
    """Add per-day earnings into the checkpoint's days (rows rewritten, not updated in
    place, so SQLite and PostgreSQL take the same path)."""
    if not earned:
        return
    distributors = {d for d, _day in earned}
    days = {day for _d, day in earned}
    existing = db.session.execute(
        select(
            LedgerCheckpointDay.distributor_id, LedgerCheckpointDay.day, LedgerCheckpointDay.earned
        ).where(
            LedgerCheckpointDay.distributor_id.in_(distributors),
            LedgerCheckpointDay.day.in_(days),
        )
    ).all()
    merged = dict(earned)
    for d, day, amount in existing:
        if (d, day) in merged:
            merged[(d, day)] += amount
    db.session.execute(
        delete(LedgerCheckpointDay)
        .where(
            LedgerCheckpointDay.distributor_id.in_(distributors),
            LedgerCheckpointDay.day.in_(days),
        )
        .execution_options(synchronize_session=False)
    )
    rows = [{"distributor_id": d, "day": day, "earned": v} for (d, day), v in merged.items()]
    kept = [
        {"distributor_id": d, "day": day, "earned": amount}
        for d, day, amount in existing
        if (d, day) not in merged
    ]
    bulk.insert_rows(LedgerCheckpointDay.__table__, rows + kept)


def checkpoint_problems() -> list[str]:
    """Every checkpoint recomputed from the entries up to its ``upto_id``; [] when all
    agree (a bucket with entries but no checkpoint row counts as a checkpoint of 0)."""
    uptos = (
        select(
            LedgerCheckpoint.distributor_id.label("distributor_id"),
            func.min(LedgerCheckpoint.upto_id).label("low"),
            func.max(LedgerCheckpoint.upto_id).label("upto"),
        )
        .group_by(LedgerCheckpoint.distributor_id)
        .subquery()
    )
    problems = [
        f"distributor {d}: checkpoints up to different entries ({low} and {high})"
        for d, low, high in db.session.execute(
            select(uptos.c.distributor_id, uptos.c.low, uptos.c.upto).where(
                uptos.c.low != uptos.c.upto
            )
        )
    ]
    stored = {
        (d, b): (upto, amount)
        for d, b, upto, amount in db.session.execute(
            select(
                LedgerCheckpoint.distributor_id,
                LedgerCheckpoint.bucket,
                LedgerCheckpoint.upto_id,
                LedgerCheckpoint.amount,
            )
        )
    }
    recomputed = {
        (d, b): Decimal(total) + ZERO
        for d, b, total in db.session.execute(
            select(LedgerEntry.distributor_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
            .join(uptos, uptos.c.distributor_id == LedgerEntry.distributor_id)
            .where(LedgerEntry.id <= uptos.c.upto)
            .group_by(LedgerEntry.distributor_id, LedgerEntry.bucket)
        )
    }
    for d, b in sorted(stored.keys() | recomputed.keys()):
        upto, amount = stored.get((d, b), (None, ZERO))
        actual = recomputed.get((d, b), ZERO)
        if amount != actual:
            where = f"up to entry {upto}" if upto is not None else "missing"
            problems.append(
                f"distributor {d}: {b} checkpoint ({where}) is {amount}, entries sum to {actual}"
            )
    day = utc_date(LedgerEntry.created_at)
    days_stored = {
        (d, on): amount
        for d, on, amount in db.session.execute(
            select(
                LedgerCheckpointDay.distributor_id,
                LedgerCheckpointDay.day,
                LedgerCheckpointDay.earned,
            )
        )
    }
    days_recomputed = {
        (d, as_date(on)): Decimal(total) + ZERO
        for d, on, total in db.session.execute(
            select(LedgerEntry.distributor_id, day, func.sum(LedgerEntry.amount))
            .join(uptos, uptos.c.distributor_id == LedgerEntry.distributor_id)
            .where(LedgerEntry.id <= uptos.c.upto, LedgerEntry.kind.in_(EARNING_KINDS))
            .group_by(LedgerEntry.distributor_id, day)
        )
    }
    for d, on in sorted(days_stored.keys() | days_recomputed.keys()):
        amount, actual = days_stored.get((d, on), ZERO), days_recomputed.get((d, on), ZERO)
        if amount != actual:
            problems.append(
                f"distributor {d}: earned on {on.isoformat()} checkpoint is {amount}, "
                f"entries sum to {actual}"
            )
    return problems


# More checks of the ledger against what books into it, each returning its problems:
# commissions add theirs when the app starts (the ledger imports none of them).
CHECKS: list[Callable[[], list[str]]] = []


def verify() -> list[str]:
    """Recompute every balance from the entries and check the invariants; [] when sound.

    * no distributor has a negative balance in pending, holding or on_review;
    * every balance checkpoint equals its entries (:func:`checkpoint_problems`);
    * and every check in :data:`CHECKS` (commissions: their entries sum to their amount,
      sit in their state's bucket, transfers net to zero).
    """
    problems: list[str] = [problem for check in CHECKS for problem in check()]
    # Compared here, not in a HAVING: SQLite sums NUMERIC as floats (-1e-15 is not < 0).
    sums = db.session.execute(
        select(LedgerEntry.distributor_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
        .where(
            LedgerEntry.bucket.in_(
                [Bucket.PENDING.value, Bucket.HOLDING.value, Bucket.ON_REVIEW.value]
            )
        )
        .group_by(LedgerEntry.distributor_id, LedgerEntry.bucket)
    )
    problems.extend(
        f"distributor {d}: negative {bucket} balance {total}"
        for d, bucket, total in sums
        if Decimal(total) < ZERO
    )
    problems.extend(checkpoint_problems())
    return problems
