"""Automatic level upgrades: a periodic job promotes active distributors whose figures meet
every criterion of the next level (possibly several levels in one run). It never demotes:
a level taken away by ops, or figures falling later, are left as they are."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.audit import services as audit
from portal.centre import levels
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from portal.timeutil import utcnow


def reached(distributor: Distributor, now: datetime) -> Level | None:
    """The highest level above the current one that the distributor qualifies for, climbing
    while every criterion of the next level is met; None when they stay where they are.

    A level without any criterion is never reached automatically: ops assign it.
    """
    current, reached_level = distributor.level, None
    while (target := levels.next_level(current)) is not None:
        criteria = levels.progress(distributor, now, target).criteria
        if not criteria or not all(criterion.met for criterion in criteria):
            break
        current = reached_level = target
    return reached_level


def promote(distributor: Distributor, to: Level) -> bool:
    """Move the distributor up to ``to`` if their level is still the one evaluated (an
    ops change in between wins), with an audit entry and a notification. The caller
    commits; returns whether the level changed."""
    before = distributor.level_id
    same_level = (
        Distributor.level_id.is_(None) if before is None else Distributor.level_id == before
    )
    result = db.session.execute(
        update(Distributor)
        .where(Distributor.id == distributor.id, same_level)
        .values(level_id=to.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    audit.record(
        None,
        "distributor.level_up",
        "distributor",
        distributor.id,
        {"level_id": before},
        {"level_id": to.id, "level": to.name},
    )
    notify(distributor.id, NotificationKind.LEVEL_UP, {"level": to.name, "rank": to.rank})
    return True


def upgrade_levels(now: datetime | None = None, batch: int = 200) -> int:
    """Periodic: evaluate every active distributor below the top level, ``batch`` at a
    time (one commit each). Idempotent: a second run finds nothing more to do. Returns
    the number of distributors promoted."""
    now = now or utcnow()
    top_rank = db.session.scalar(select(Level.rank).order_by(Level.rank.desc()).limit(1))
    if top_rank is None:
        return 0
    promoted, after_id = 0, 0
    while True:
        page = list(
            db.session.scalars(
                select(Distributor)
                .outerjoin(Level, Level.id == Distributor.level_id)
                .options(selectinload(Distributor.level))
                .where(
                    Distributor.status == DistributorStatus.ACTIVE,
                    Distributor.id > after_id,
                    (Level.rank < top_rank) | Distributor.level_id.is_(None),
                )
                .order_by(Distributor.id)
                .limit(batch)
            )
        )
        if not page:
            return promoted
        for distributor in page:
            target = reached(distributor, now)
            if target is not None and promote(distributor, target):
                promoted += 1
        after_id = page[-1].id
        db.session.commit()
