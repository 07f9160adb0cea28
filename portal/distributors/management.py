"""What ops change on a distributor: status, level, role, upline (manual ledger
adjustments are in :mod:`portal.distributors.adjustments`). Every change is audited with
before → after; the caller never commits.

Changes apply from now on: orders already computed keep the plan and upline frozen on
them (see portal.commissions.context), so history is never re-priced.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit import services as audit
from portal.distributors import coupons
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.errors import NotFound, ServiceError
from portal.extensions import db

MAX_DEPTH_WALK = 10_000  # an upline chain longer than this is corrupt data, not a tree


class ManagementError(ServiceError):
    """A refused change to a distributor (status, profile, balance adjustment)."""


def _get(distributor_id: int) -> Distributor:
    distributor = db.session.get(Distributor, distributor_id)
    if distributor is None:
        raise NotFound(_("No such distributor."))
    return distributor


def set_status(distributor_id: int, status: DistributorStatus, actor: User, reason: str) -> None:
    """Suspend an active distributor or reactivate a suspended one (reason required).

    Suspended distributors keep their money and can still sign in and read; their links
    stop, their coupons are to be disabled in the shop (restored on reactivation: the
    caller sends ``signals.coupons_changed`` after committing), they earn nothing at
    their depth and cannot withdraw.
    """
    distributor = _get(distributor_id)
    allowed = {
        DistributorStatus.SUSPENDED: DistributorStatus.ACTIVE,
        DistributorStatus.ACTIVE: DistributorStatus.SUSPENDED,
    }
    if allowed.get(status) is not distributor.status:
        raise ManagementError(_("Only active distributors can be suspended, and back."))
    if not reason.strip():
        raise ManagementError(_("Give a reason; it is kept in the audit log."), "reason")
    before = distributor.status.value
    distributor.status = status
    coupons.follow_status(distributor)
    audit.record(
        actor,
        f"distributor.{'suspend' if status is DistributorStatus.SUSPENDED else 'reactivate'}",
        "distributor",
        distributor.id,
        {"status": before},
        {"status": status.value, "reason": reason.strip()},
    )


def _would_cycle(distributor_id: int, new_parent_id: int) -> bool:
    """True when the new parent is the distributor or sits anywhere below it."""
    current: int | None = new_parent_id
    for _step in range(MAX_DEPTH_WALK):
        if current is None:
            return False
        if current == distributor_id:
            return True
        current = db.session.scalar(select(Distributor.parent_id).where(Distributor.id == current))
    return True


def change_profile(
    distributor_id: int,
    actor: User,
    level_id: int | None,
    role: DistributorRole,
    parent_code: str,
) -> list[str]:
    """Level, role and upline (by referral code; empty = top of the tree). Returns the
    names of what changed."""
    distributor = _get(distributor_id)
    if level_id is not None and db.session.get(Level, level_id) is None:
        raise ManagementError(_("Choose a level."), "level_id")
    parent_id = None
    if parent_code.strip():
        parent = db.session.scalar(
            select(Distributor).where(Distributor.code == parent_code.strip().upper())
        )
        if parent is None:
            raise ManagementError(_("No distributor has that code."), "parent_code")
        if _would_cycle(distributor.id, parent.id):
            raise ManagementError(
                _(
                    "%(name)s is in this distributor's own team: that would make a loop.",
                    name=parent.display_name,
                ),
                "parent_code",
            )
        parent_id = parent.id
    before = {
        "level_id": distributor.level_id,
        "role": distributor.role.value,
        "parent_id": distributor.parent_id,
    }
    distributor.level_id = level_id
    distributor.role = role
    distributor.parent_id = parent_id
    after = {"level_id": level_id, "role": role.value, "parent_id": parent_id}
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        audit.record(
            actor,
            "distributor.change",
            "distributor",
            distributor.id,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    return changed
