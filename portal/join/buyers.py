"""The periodic job of the buyer recruitment modes: every buyer (人人分销) and spend
threshold (满额分销) make customers distributors.

A customer is an email on paid orders (:func:`portal.risk.qualifying.paid`: paid and
worth something net of refunds; refunded orders never count) that is no user's yet. In
``every_buyer`` one such order is enough; in ``spend_threshold`` their net paid goods in
the shop currency must add up to at least the threshold. Each becomes an active
distributor in the team of the distributor they are bound to or bought through, and is
emailed a set-your-password invitation.

Idempotent: a customer who became a user drops out of the query, and the unique email
makes a second run (or a second worker) fail to add them again. Each customer is its own
transaction, so one failure neither stops nor undoes the others; a failed customer is
retried on the next run.
"""

from __future__ import annotations

import logging

from sqlalchemy import Select, exists, func, select

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.distributors import recruitment
from portal.distributors import services as distributors
from portal.extensions import db
from portal.orders.models import Order
from portal.risk import qualifying
from portal.settings import services as settings

log = logging.getLogger(__name__)

BATCH = 200
MAX_PER_RUN = 2000


def _candidates(mode: str, after: str) -> Select[tuple[str, str | None]]:
    """The next batch of qualifying customers after ``after`` (by email): one grouped
    query over their orders."""
    query = (
        select(Order.customer_email, func.max(Order.customer_id))
        .where(
            Order.customer_email.is_not(None),
            Order.customer_email > after,
            *qualifying.paid(),
            ~exists(select(User.id).where(User.email == Order.customer_email)),
        )
        .group_by(Order.customer_email)
        .order_by(Order.customer_email)
        .limit(BATCH)
    )
    if mode == "spend_threshold":
        query = query.where(Order.currency == settings.get("currency")).having(
            func.sum(Order.net_total) >= settings.get("recruitment_threshold")
        )
    return query


def recruit_buyers() -> int:
    """Make the qualifying customers distributors; returns how many were added."""
    mode = settings.get("recruitment_mode")
    if mode not in recruitment.BUYER_MODES:
        return 0
    added = seen = 0
    after = ""
    while seen < MAX_PER_RUN:
        batch = db.session.execute(_candidates(mode, after)).all()
        if not batch:
            break
        parents = recruitment.uplines([email for email, _ in batch])
        db.session.commit()  # end the read; each customer below is its own transaction
        for email, customer_id in batch:
            try:
                distributors.add_buyer(email, customer_id, parents.get(email))
                db.session.commit()
            except accounts.EmailTaken:  # they signed up meanwhile
                db.session.rollback()
            except Exception:  # one customer's failure must not stop the others
                db.session.rollback()
                log.exception("could not make buyer %s a distributor", email)
            else:
                added += 1
        seen += len(batch)
        after = batch[-1][0]
    if added:
        accounts.send_links()
    return added
