"""The first-visit checklist on the dashboard: the steps recorded as the distributor does
them (:mod:`portal.onboarding`), and the payout account read from their accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from portal.extensions import db
from portal.onboarding import OnboardingStep, Step, record
from portal.withdrawals.models import PayoutAccount

__all__ = ["Checklist", "Step", "checklist", "record"]


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
