"""Automatic level upgrades: a periodic job promotes active distributors whose figures meet
every criterion of the next level (possibly several levels in one run). It never demotes:
a level taken away by ops, or figures falling later, are left as they are."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update

from portal.audit import services as audit
from portal.distributors import levels
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.notifications.models import JobCursor, NotificationKind
from portal.notifications.services import notify
from portal.timeutil import utcnow

CURSOR = "level_upgrade"
BATCH = 5000


def _candidates(after_id: int, top_rank: int, batch: int) -> list[tuple[int, int | None]]:
    """(id, level id) of the next ``batch`` active distributors below the top level."""
    return [
        (distributor_id, level_id)
        for distributor_id, level_id in db.session.execute(
            select(Distributor.id, Distributor.level_id)
            .outerjoin(Level, Level.id == Distributor.level_id)
            .where(
                Distributor.status == DistributorStatus.ACTIVE,
                Distributor.id > after_id,
                (Level.rank < top_rank) | Distributor.level_id.is_(None),
            )
            .order_by(Distributor.id)
            .limit(batch)
        )
    ]


def evaluate(
    page: list[tuple[int, int | None]], ladder: list[Level], now: datetime
) -> dict[int, Level]:
    """The level each distributor of ``page`` (id, level id; ascending ids) reaches, for
    those who move up: the figures of the whole id range in one grouped query per window
    length, team sizes in one more."""
    first, last = page[0][0], page[-1][0]
    rank_of = {level.id: level.rank for level in ladder}
    windows = {
        level.window_days or levels.DEFAULT_WINDOW_DAYS: levels.window(level, now)
        for level in ladder
        if levels.counts_figures(level)
    }
    counted = {days: levels.figures(first, last, period) for days, period in windows.items()}
    sizes = (
        levels.active_team_sizes(first, last)
        if any(level.min_team_size is not None for level in ladder)
        else {}
    )
    moves: dict[int, Level] = {}
    for distributor_id, level_id in page:
        rank = rank_of[level_id] if level_id is not None else None
        above = [level for level in ladder if rank is None or level.rank > rank]
        target = levels.reached(
            above,
            {
                days: figures[distributor_id]
                for days, figures in counted.items()
                if distributor_id in figures
            },
            sizes.get(distributor_id, 0),
        )
        if target is not None:
            moves[distributor_id] = target
    return moves


def promote(moves: dict[int, Level], levels_before: dict[int, int | None]) -> int:
    """Move each distributor up to their new level if their level is still the one
    evaluated (an ops change in between wins): one UPDATE per (from, to) pair, with an
    audit entry and a notification per distributor moved. The caller commits; returns how
    many moved."""
    groups: dict[tuple[int | None, int], list[int]] = defaultdict(list)
    for distributor_id, target in moves.items():
        groups[(levels_before[distributor_id], target.id)].append(distributor_id)
    by_id = {target.id: target for target in moves.values()}
    moved = 0
    for (before, to_id), ids in groups.items():
        same_level = (
            Distributor.level_id.is_(None) if before is None else Distributor.level_id == before
        )
        changed = db.session.scalars(
            update(Distributor)
            .where(Distributor.id.in_(ids), same_level)
            .values(level_id=to_id)
            .returning(Distributor.id)
            .execution_options(synchronize_session=False)
        ).all()
        to = by_id[to_id]
        for distributor_id in sorted(changed):
            audit.record(
                None,
                "distributor.level_up",
                "distributor",
                distributor_id,
                {"level_id": before},
                {"level_id": to.id, "level": to.name},
            )
            notify(distributor_id, NotificationKind.LEVEL_UP, {"level": to.name, "rank": to.rank})
        moved += len(changed)
    return moved


def upgrade_levels(now: datetime | None = None, batch: int = BATCH) -> int:
    """Periodic: evaluate every active distributor below the top level, ``batch`` at a
    time in ascending ids (one commit each, which also moves the job's cursor). A run that
    was stopped part way (a killed worker, a timeout) continues after the last committed
    batch; a run that reaches the end starts the next one from the first distributor.
    Idempotent: a second run finds nothing more to do. Returns the number of distributors
    promoted."""
    now = now or utcnow()
    ladder = levels.ladder()
    if not ladder:
        return 0
    for level in ladder:  # read once: the batch commits must not expire them
        db.session.expunge(level)
    top_rank = ladder[-1].rank
    cursor = db.session.get(JobCursor, CURSOR)
    if cursor is None:
        cursor = JobCursor(name=CURSOR, position=0)
        db.session.add(cursor)
    promoted = 0
    while True:
        page = _candidates(cursor.position, top_rank, batch)
        if not page:
            cursor.position = 0  # a full pass is done: the next run starts over
            db.session.commit()
            return promoted
        promoted += promote(evaluate(page, ladder, now), dict(page))
        cursor.position = page[-1][0]
        db.session.commit()
