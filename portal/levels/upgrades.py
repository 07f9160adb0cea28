"""Automatic level upgrades: a periodic job promotes active distributors whose figures meet
every criterion of the next level (possibly several levels in one run). It never demotes:
a level taken away by ops, or figures falling later, are left as they are."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update

from portal.audit import services as audit
from portal.cursors import JobCursor
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.levels import criteria as levels
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify_many
from portal.timeutil import utcnow

CURSOR = "level_upgrade"
BATCH = 5000  # promotions committed (and the cursor moved) per transaction


def _candidates(after_id: int, top_rank: int) -> ColumnElement[bool]:
    """Active distributors below the top level, after the cursor."""
    below_top = Distributor.level_id.is_(None) | Distributor.level_id.in_(
        select(Level.id).where(Level.rank < top_rank)
    )
    return and_(
        Distributor.status == DistributorStatus.ACTIVE, Distributor.id > after_id, below_top
    )


def evaluate(
    candidates: ColumnElement[bool], ladder: list[Level], now: datetime
) -> tuple[list[tuple[int, int | None]], dict[int, Level]]:
    """Every candidate (id, level id; ascending ids) and the level each one that moves up
    reaches: their figures for every window length in one grouped query, their team sizes
    in one more."""
    page = [
        (distributor_id, level_id)
        for distributor_id, level_id in db.session.execute(
            select(Distributor.id, Distributor.level_id).where(candidates).order_by(Distributor.id)
        )
    ]
    windows = {
        level.window_days or levels.DEFAULT_WINDOW_DAYS: levels.window(level, now)
        for level in ladder
        if levels.counts_figures(level)
    }
    counted = levels.figures(windows, candidates) if windows else {}
    sizes = (
        levels.active_team_sizes(candidates)
        if any(level.min_team_size is not None for level in ladder)
        else {}
    )
    rank_of = {level.id: level.rank for level in ladder}
    moves: dict[int, Level] = {}
    for distributor_id, level_id in page:
        rank = rank_of[level_id] if level_id is not None else None
        target = levels.reached(
            [level for level in ladder if rank is None or level.rank > rank],
            {
                days: figures[distributor_id]
                for days, figures in counted.items()
                if distributor_id in figures
            },
            sizes.get(distributor_id, 0),
        )
        if target is not None:
            moves[distributor_id] = target
    return page, moves


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
        to, changed = by_id[to_id], sorted(changed)
        audit.record_system_many(
            "distributor.level_up",
            "distributor",
            [(d, {"level_id": before}, {"level_id": to.id, "level": to.name}) for d in changed],
        )
        notify_many(
            NotificationKind.LEVEL_UP, {d: {"level": to.name, "rank": to.rank} for d in changed}
        )
        moved += len(changed)
    return moved


def upgrade_levels(now: datetime | None = None, batch: int = BATCH) -> int:
    """Periodic: evaluate every active distributor below the top level after the job's
    cursor (all of them in a few grouped queries), then promote them in ascending ids,
    ``batch`` distributors per commit, each commit moving the cursor. A run that was
    stopped part way (a killed worker, a timeout) continues after the last committed
    batch; a run that reaches the end starts the next one from the first distributor.
    Idempotent: a second run finds nothing more to do. Returns the number promoted."""
    now = now or utcnow()
    ladder = levels.ladder()
    if not ladder:
        return 0
    for level in ladder:  # read once: the batch commits must not expire them
        db.session.expunge(level)
    cursor = db.session.get(JobCursor, CURSOR)
    if cursor is None:
        cursor = JobCursor(name=CURSOR, position=0)
        db.session.add(cursor)
    page, moves = evaluate(_candidates(cursor.position, ladder[-1].rank), ladder, now)
    promoted = 0
    for start in range(0, len(page), batch):
        chunk = page[start : start + batch]
        promoted += promote({d: moves[d] for d, _ in chunk if d in moves}, dict(chunk))
        cursor.position = chunk[-1][0]
        db.session.commit()
    cursor.position = 0  # a full pass is done: the next run starts over
    db.session.commit()
    return promoted
