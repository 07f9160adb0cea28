"""The ops queue of withdrawals and the decisions on it: the list with its filters, what
its rows show beside each withdrawal, the withdrawal a decision is about, and one
decision over many rows, each row in a transaction of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.distributors.models import Distributor
from portal.distributors.search import code_or_name
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.pagination import paginate
from portal.withdrawals import credit, payouts, paypal, services, statements
from portal.withdrawals.models import PayoutAccount, PayoutMethod, Withdrawal, WithdrawalState

# Which states each decision starts from (anything else is refused by the service).
SOURCES = {
    "approve": (WithdrawalState.REQUESTED,),
    "reject": (WithdrawalState.REQUESTED, WithdrawalState.APPROVED),
    "pay": (WithdrawalState.APPROVED,),
    "reverse": (WithdrawalState.PAID,),  # store credit only (portal.withdrawals.credit)
}


def queue_query(state: str, method: str, search: str) -> Select[tuple[Withdrawal]]:
    """Oldest request first; an unknown state or method filters nothing, ``search`` is a
    distributor's referral code or part of their name."""
    query = (
        select(Withdrawal)
        .options(selectinload(Withdrawal.payout_account))
        .order_by(Withdrawal.requested_at, Withdrawal.id)
    )
    if state in WithdrawalState.__members__.values():
        query = query.where(Withdrawal.state == WithdrawalState(state))
    if method in PayoutMethod.__members__.values():
        query = query.where(
            Withdrawal.payout_account_id.in_(
                select(PayoutAccount.id).where(PayoutAccount.method == PayoutMethod(method))
            )
        )
    if search:
        query = query.where(
            Withdrawal.distributor_id.in_(select(Distributor.id).where(code_or_name(search)))
        )
    return query


def queue_page(state: str, method: str, search: str) -> Any:
    """A page (``?page=``) of :func:`queue_query`."""
    return paginate(queue_query(state, method, search))


def row_facts(withdrawals: Sequence[Withdrawal]) -> dict[str, Any]:
    """What the queue's rows show beside the withdrawals: their distributors, statement
    numbers, store-credit errors and PayPal items (one query each)."""
    ids = [w.id for w in withdrawals]
    return {
        "distributors": payouts.distributor_names(withdrawals),
        "statement_numbers": statements.numbers_for(ids),
        "credit_errors": credit.errors_for(ids),
        "paypal_items": paypal.items_for(ids),
    }


def withdrawal(withdrawal_id: int) -> Withdrawal | None:
    """The withdrawal as stored now (after a decision), with its payout account."""
    found = db.session.get(
        Withdrawal, withdrawal_id, options=[selectinload(Withdrawal.payout_account)]
    )
    if found is not None:
        db.session.refresh(found)
    return found


def awaiting(withdrawal_id: int, action: str) -> tuple[Withdrawal, Distributor] | None:
    """The withdrawal and its distributor when it is in a state ``action`` starts from,
    for the confirm step; ``None`` when it is not (the decision then says why),
    :class:`~portal.errors.NotFound` when there is no such withdrawal."""
    found = db.session.get(Withdrawal, withdrawal_id)
    if found is None:
        raise NotFound(_("No such withdrawal."))
    if found.state not in SOURCES[action]:
        return None
    return found, db.session.get(Distributor, found.distributor_id)


def decidable(action: str, ids: Sequence[int]) -> list[Withdrawal]:
    """Those of ``ids`` in a state ``action`` starts from."""
    return list(
        db.session.scalars(
            select(Withdrawal).where(Withdrawal.id.in_(ids), Withdrawal.state.in_(SOURCES[action]))
        )
    )


@dataclass
class Outcome:
    done: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (withdrawal id, why)


def decide_each(action: str, ids: Sequence[int], actor: User, reference: str = "") -> Outcome:
    """Approve (``action="approve"``) or mark paid with one payment ``reference``
    (``"pay"``) every withdrawal of ``ids``, each in its own transaction (the service
    commits it): a refused one is rolled back alone and the rest go on. A database
    conflict (a concurrent decision, a deadlock) gets one more try, as in the intake
    (portal.intake.each_alone), then counts as refused."""
    outcome = Outcome()
    for withdrawal_id in ids:
        for attempt in range(2):
            try:
                if action == "approve":
                    services.approve(withdrawal_id, actor)
                else:
                    services.pay(withdrawal_id, actor, reference)
            except ServiceError as exc:
                db.session.rollback()
                outcome.refused.append((withdrawal_id, exc.message))
            except (IntegrityError, OperationalError):
                db.session.rollback()
                if attempt == 0:
                    continue
                outcome.refused.append(
                    (withdrawal_id, _("Someone changed it at the same moment; try again."))
                )
            else:
                outcome.done += 1
            break
    return outcome
