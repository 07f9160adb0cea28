"""Manual adjustments of a distributor's available balance, with maker-checker.

* Every amount is checked first (:func:`check`): not zero, within the column's range, in
  the currency's minor unit, and for ops within ``adjustment_limit_ops`` (admins set it;
  admins themselves are only bound by :data:`MAX_ADJUSTMENT`).
* Up to ``adjustment_approval_above`` (either sign) it is booked at once.
* Above, it is stored as a pending :class:`AdjustmentRequest` — no ledger entry — and
  booked only when a *different* staff member approves it; the maker can never approve
  their own. Rejecting (by the maker too: withdrawing it) books nothing.
* Request, approval and rejection are each an audit entry on the distributor. The
  decision is a conditional UPDATE (``WHERE state = 'pending'``) under the distributor's
  lock, so two approvals at once book once.

The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, select, update

from portal.accounts.models import Role, User
from portal.audit import services as audit
from portal.audit.models import AuditEntry
from portal.distributors.management import ManagementError
from portal.distributors.models import AdjustmentRequest, AdjustmentState, Distributor
from portal.errors import InvalidTransition, NotFound
from portal.extensions import db
from portal.formatting import money
from portal.ledger.models import Bucket, EntryKind
from portal.ledger.services import Journal, lock_distributor
from portal.money import minor_unit_exponent, round_money
from portal.settings import services as settings
from portal.timeutil import utcnow

# Far inside the Money column (Numeric(18, 4): 14 integer digits), so no sum of a
# distributor's entries can overflow it; larger is a typing slip, never a real amount.
MAX_ADJUSTMENT = Decimal(10) ** 9
MAX_NOTE = 500


@dataclass(frozen=True)
class Plan:
    """What submitting an adjustment will do (the confirm step shows it)."""

    amount: Decimal
    currency: str
    reason: str
    needs_approval: bool
    threshold: Decimal


def _limit_for(actor: User) -> Decimal | None:
    return settings.get("adjustment_limit_ops") if actor.role is Role.OPS else None


def check(amount: Decimal | None, reason: str | None, actor: User) -> Plan:
    """Every rule of a new adjustment; :class:`ManagementError` on its field."""
    currency = settings.get("currency")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == 0:
        raise ManagementError(_("Enter an amount other than zero, e.g. 25 or -10."), "amount")
    if abs(amount) >= MAX_ADJUSTMENT:
        raise ManagementError(
            _(
                "That amount is too large: an adjustment stays under %(max)s.",
                max=money(MAX_ADJUSTMENT, currency),
            ),
            "amount",
        )
    if round_money(amount, currency) != amount:
        raise ManagementError(
            _(
                "Use at most %(places)d decimals for %(currency)s.",
                places=minor_unit_exponent(currency),
                currency=currency,
            ),
            "amount",
        )
    limit = _limit_for(actor)
    if limit is not None and abs(amount) > limit:
        raise ManagementError(
            _(
                "Ops can adjust at most %(limit)s at a time (an admin sets the limit).",
                limit=money(limit, currency),
            ),
            "amount",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ManagementError(_("Give a reason; the distributor sees it."), "reason")
    threshold = settings.get("adjustment_approval_above")
    return Plan(amount, currency, reason, abs(amount) > threshold, threshold)


def _book(distributor_id: int, amount: Decimal, currency: str, reason: str, entry: AuditEntry):
    db.session.flush()  # the audit entry's id names the ledger entry
    journal = Journal()
    journal.book(
        distributor_id,
        Bucket.AVAILABLE,
        amount,
        currency,
        EntryKind.MANUAL,
        f"manual:{entry.id} {reason}"[:120],
    )
    journal.write()


def submit(
    distributor_id: int, amount: Decimal | None, reason: str | None, actor: User
) -> AdjustmentRequest | None:
    """Book the adjustment, or — above the approval threshold — store it as a request for
    a second staff member (returned)."""
    plan = check(amount, reason, actor)
    if db.session.get(Distributor, distributor_id) is None:
        raise NotFound(_("No such distributor."))
    values = {"amount": str(plan.amount), "currency": plan.currency, "reason": plan.reason}
    if plan.needs_approval:
        request = AdjustmentRequest(
            distributor_id=distributor_id,
            amount=plan.amount,
            currency=plan.currency,
            reason=plan.reason,
            requested_by_id=actor.id,
        )
        db.session.add(request)
        db.session.flush()
        audit.record(
            actor,
            "adjustment.request",
            "distributor",
            distributor_id,
            None,
            {**values, "request": request.id, "threshold": str(plan.threshold)},
        )
        return request
    lock_distributor(distributor_id)
    entry = audit.record(actor, "ledger.adjust", "distributor", distributor_id, None, values)
    _book(distributor_id, plan.amount, plan.currency, plan.reason, entry)
    return None


def get(request_id: int) -> AdjustmentRequest:
    request = db.session.get(AdjustmentRequest, request_id)
    if request is None:
        raise NotFound(_("No such adjustment."))
    return request


def check_approver(request: AdjustmentRequest, actor: User) -> None:
    """Refuse the maker, and ops above their limit (what the approval would book)."""
    if request.requested_by_id == actor.id:
        raise ManagementError(
            _("You asked for this adjustment: another staff member must approve it.")
        )
    limit = _limit_for(actor)
    if limit is not None and abs(request.amount) > limit:
        raise ManagementError(
            _(
                "Ops can approve at most %(limit)s at a time: an admin must approve this one.",
                limit=money(limit, request.currency),
            ),
        )


def _decide(
    request_id: int, actor: User, to: AdjustmentState, note: str | None = None
) -> AdjustmentRequest:
    """pending → ``to`` once: the conditional UPDATE under the distributor's lock lets
    exactly one of two simultaneous decisions through."""
    request = get(request_id)
    lock_distributor(request.distributor_id)
    decided = db.session.execute(
        update(AdjustmentRequest)
        .where(
            AdjustmentRequest.id == request_id,
            AdjustmentRequest.state == AdjustmentState.PENDING,
        )
        .values(state=to, decided_by_id=actor.id, decided_at=utcnow(), decision_note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided != 1:
        db.session.rollback()
        raise InvalidTransition(_("This adjustment was already decided."))
    request = db.session.get(AdjustmentRequest, request_id, populate_existing=True)
    assert request is not None
    return request


def approve(request_id: int, actor: User) -> AdjustmentRequest:
    """Book a pending request into the ledger: a second staff member's approval."""
    check_approver(get(request_id), actor)
    request = _decide(request_id, actor, AdjustmentState.APPROVED)
    entry = audit.record(
        actor,
        "adjustment.approve",
        "distributor",
        request.distributor_id,
        {"state": AdjustmentState.PENDING.value},
        {
            "state": AdjustmentState.APPROVED.value,
            "request": request.id,
            "amount": str(request.amount),
            "currency": request.currency,
            "requested_by": request.requested_by_id,
        },
    )
    _book(request.distributor_id, request.amount, request.currency, request.reason, entry)
    return request


def clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if not note:
        raise ManagementError(_("Give a reason; it is kept in the audit log."), "note")
    if len(note) > MAX_NOTE:
        raise ManagementError(_("Keep the reason under %(n)d characters.", n=MAX_NOTE), "note")
    return note


def reject(request_id: int, actor: User, note: str | None) -> AdjustmentRequest:
    """Refuse a pending request (its maker may withdraw it this way): nothing is booked."""
    note = clean_note(note)
    request = _decide(request_id, actor, AdjustmentState.REJECTED, note)
    audit.record(
        actor,
        "adjustment.reject",
        "distributor",
        request.distributor_id,
        {"state": AdjustmentState.PENDING.value},
        {"state": AdjustmentState.REJECTED.value, "request": request.id, "reason": note},
    )
    return request


def pending(distributor_id: int | None = None) -> Select[tuple[AdjustmentRequest]]:
    """Requests waiting for a decision, oldest first (for paginate)."""
    query = (
        select(AdjustmentRequest)
        .where(AdjustmentRequest.state == AdjustmentState.PENDING)
        .order_by(AdjustmentRequest.requested_at, AdjustmentRequest.id)
    )
    if distributor_id is not None:
        query = query.where(AdjustmentRequest.distributor_id == distributor_id)
    return query
