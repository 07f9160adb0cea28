"""Vanity codes: a distributor (a creator, typically) chooses a readable code once.

Their links then read ``/r/AMYBEAUTY``; the issued code stays what the shop knows (the
``ref`` cookie, ``_portal_ref``, the personal coupon), so nothing in the shop changes and
links made with either code keep working.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import User
from portal.audit import services as audit
from portal.distributors import codes
from portal.distributors.models import Distributor
from portal.distributors.services import RecruitmentError
from portal.extensions import db


def choose(distributor: Distributor, raw: str, actor: User) -> str:
    """Give the distributor the vanity code ``raw`` (normalised), once. Raises
    ``RecruitmentError`` on the ``vanity_code`` field when it is malformed, reserved,
    someone's code already, or they chose one before. Flushed; the caller commits."""
    if distributor.vanity_code:
        raise RecruitmentError(_("You have already chosen your code."), "vanity_code")
    code = codes.normalise(raw)
    if not codes.is_vanity(code):
        raise RecruitmentError(
            _(
                "Use %(low)d to %(high)d letters and digits, without spaces or signs.",
                low=codes.VANITY_MIN_LENGTH,
                high=codes.VANITY_MAX_LENGTH,
            ),
            "vanity_code",
        )
    if code in codes.RESERVED:
        raise RecruitmentError(_("This word is reserved; choose another."), "vanity_code")
    taken = db.session.scalar(
        select(Distributor.id).where(or_(Distributor.code == code, Distributor.vanity_code == code))
    )
    if taken is not None:
        raise RecruitmentError(_("This code is taken; choose another."), "vanity_code")
    savepoint = db.session.begin_nested()
    try:
        distributor.vanity_code = code
        db.session.flush()
    except IntegrityError:  # chosen by someone else a moment ago
        savepoint.rollback()
        raise RecruitmentError(_("This code is taken; choose another."), "vanity_code") from None
    savepoint.commit()
    audit.record(
        actor, "distributor.vanity_code", "distributor", distributor.id, None, {"code": code}
    )
    return code
