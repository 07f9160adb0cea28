"""The steps of the first-visit checklist on the dashboard: copy your link, save your
poster or card, add a payout account, read the starter materials. Each step ticks itself
off from what the distributor really did — recorded here when they do it (the copy button
posts, a poster or QR download and opening the materials library record themselves) or,
for the payout account, read from their accounts (:mod:`portal.centre.onboarding`) —
never from a click on the checklist. On the ground floor: the share pages, posters and
materials record steps, and the centre that shows the checklist imports them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from portal import bulk
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class Step(enum.StrEnum):
    COPY_LINK = "copy_link"
    SAVE_POSTER = "save_poster"
    PAYOUT_ACCOUNT = "payout_account"
    MATERIALS = "materials"


RECORDED = (Step.COPY_LINK, Step.SAVE_POSTER, Step.MATERIALS)


class OnboardingStep(db.Model):
    """A checklist step the distributor did for real (copied a link, saved a poster or
    card, opened the starter materials), recorded once, when it first happened."""

    __tablename__ = "onboarding_steps"
    __table_args__ = (UniqueConstraint("distributor_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Served by the unique key, which leads with it.
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    step: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def record(distributor_id: int, step: Step) -> None:
    """Note that the distributor did ``step`` (the first time counts; again is a no-op,
    also when two requests race). In the caller's transaction."""
    if step not in RECORDED:
        raise ValueError(step)
    dialect = postgresql if bulk.on_postgresql() else sqlite
    statement = dialect.insert(OnboardingStep).values(
        distributor_id=distributor_id, step=step.value, done_at=utcnow()
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["distributor_id", "step"]))
