"""Where periodic jobs have got to: one row per job, so a run stopped part way (a killed
worker, a timeout) carries on from there. On the ground floor: the ledger, notifications,
level upgrades and campaigns all keep one."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class JobCursor(db.Model):
    """How far a periodic job has read an append-only table (the last id it handled)."""

    __tablename__ = "job_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
