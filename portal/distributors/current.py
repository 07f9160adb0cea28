"""The signed-in distributor, for views under ``/me``."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from portal.distributors.models import Distributor, DistributorStatus
from portal.distributors.services import distributor_for


def current_distributor() -> Distributor:
    """The distributor of the signed-in user; 404 for a distributor user without one."""
    distributor = distributor_for(current_user)
    if distributor is None:
        abort(404)
    return distributor


def can_promote(distributor: Distributor) -> bool:
    """Only active distributors create links and withdraw; suspended ones still read."""
    return distributor.status is DistributorStatus.ACTIVE


def current_promoter() -> Distributor:
    """The signed-in distributor, if they may create links (403 while suspended)."""
    distributor = current_distributor()
    if not can_promote(distributor):
        abort(403)
    return distributor
