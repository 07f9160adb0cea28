"""The first-visit checklist on the dashboard: copy your link, save your poster or card,
add a payout account, read the starter materials. Each step ticks itself off from what
the distributor really did — recorded here when they do it (the copy button posts, a
poster or QR download and opening the materials library record themselves) or, for the
payout account, read from their accounts — never from a click on the checklist."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite

from portal import bulk
from portal.centre.models import OnboardingStep
from portal.extensions import db
from portal.timeutil import utcnow
from portal.withdrawals.models import PayoutAccount


class Step(enum.StrEnum):
    COPY_LINK = "copy_link"
    SAVE_POSTER = "save_poster"
    PAYOUT_ACCOUNT = "payout_account"
    MATERIALS = "materials"


RECORDED = (Step.COPY_LINK, Step.SAVE_POSTER, Step.MATERIALS)


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


@dataclass(frozen=True)
class Checklist:
    done: frozenset[Step]

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(Step)

    @property
    def complete(self) -> bool:
        return len(self.done) == len(Step)


def checklist(distributor_id: int) -> Checklist:
    """The distributor's checklist: their recorded steps, and whether they have a payout
    account now."""
    done = {
        Step(step)
        for step in db.session.scalars(
            select(OnboardingStep.step).where(OnboardingStep.distributor_id == distributor_id)
        )
    }
    has_account = db.session.scalar(
        select(
            exists().where(
                PayoutAccount.distributor_id == distributor_id, PayoutAccount.removed_at.is_(None)
            )
        )
    )
    if has_account:
        done.add(Step.PAYOUT_ACCOUNT)
    return Checklist(frozenset(done))
