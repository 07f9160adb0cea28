"""What the distributor has done of the first-visit checklist on the dashboard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


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
