"""The commission state machine: PURE — no database, no session, nothing mutated.

Given a commission as it stands, what its order's line earns now and the facts about the
order, :func:`decide` says which state the commission should be in, the amount the ledger
should hold for it, its hold date and its review reason. The apply run
(:mod:`portal.commissions.services`) writes the decision; the ledger moves the money
(:mod:`portal.commissions.settling`).

* **Reversed**: the order is cancelled, refunded in full, trashed or failed, it no longer
  earns this commission (re-attributed, beneficiary out of the chain), or ops rejected its
  risk flag. The amount goes to zero and the hold date is cleared, so a revived order
  waits a full return window again.
* **Paid** stays paid: history is not rewritten; a later change of amount (a partial
  refund) is carried into the next withdrawal by the ledger.
* **On review**: the order's currency is not the shop's (nothing is booked, never
  converted), an open risk flag holds it (reason ``risk: …``), or a reason ops set earlier
  still stands. A risk reason clears when the flag is released.
* **Holding → available**: a completed order holds for the return window from its
  completion, then becomes available (withdrawable).
* **Pending** otherwise (the order is not completed yet); completing again restarts the
  window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from portal.commissions.models import CommissionState
from portal.orders.models import COMPLETED, VOID_STATUSES

ZERO = Decimal(0)
RISK_PREFIX = "risk: "
# A flag's status as risk control names it (portal.risk's FlagStatus values): open holds
# the order's commissions on review, rejected reverses them, released lets them go on.
FLAG_OPEN, FLAG_REJECTED = "open", "rejected"


@dataclass(frozen=True)
class Rules:
    """The settings an apply run needs, read once per run."""

    currency: str
    return_window: timedelta


@dataclass(frozen=True, slots=True)
class Standing:
    """A commission as it stands before the decision (a new one: pending, no dates)."""

    state: CommissionState = CommissionState.PENDING
    hold_until: datetime | None = None
    review_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the decision reads from the order."""

    status: str
    completed_at: datetime | None
    currency: str
    shop_currency: str  # the currency frozen in the order's context (else the shop's now)


@dataclass(frozen=True, slots=True)
class Flag:
    """The order's risk flag (:mod:`portal.risk`): its status and the rules that raised it."""

    status: str
    reasons: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a commission should be: its state, the amount the ledger should hold for it,
    its hold date and its review reason."""

    state: CommissionState
    amount: Decimal
    hold_until: datetime | None
    review_reason: str | None


def decide(
    current: Standing,
    earned: Decimal | None,
    order: OrderFacts,
    flag: Flag | None,
    now: datetime,
    return_window: timedelta,
) -> Decision:
    """The decision for one commission. ``earned``: what the engine computed for it on the
    order as stored now, ``None`` when the order no longer earns it."""
    hold_until, review_reason = current.hold_until, current.review_reason
    amount = earned if earned is not None else ZERO
    if flag is not None and flag.status == FLAG_REJECTED:
        earned = None  # ops refused the order: reversed like a cancelled one
    if order.status in VOID_STATUSES or earned is None:
        amount = ZERO  # cancelled, refunded, trashed — or no longer attributed this way
        if current.state is not CommissionState.PAID:
            # a revived order waits a full window again
            return Decision(CommissionState.REVERSED, amount, None, review_reason)
    if current.state is CommissionState.PAID:
        return Decision(CommissionState.PAID, amount, hold_until, review_reason)
    if order.currency != order.shop_currency:
        # Never converted: nothing is booked until ops decide.
        reason = (
            f"order currency {order.currency} differs from the shop currency "
            f"{order.shop_currency}; would earn {amount} {order.currency}"
        )
        return Decision(CommissionState.ON_REVIEW, ZERO, hold_until, reason)
    if flag is not None and flag.status == FLAG_OPEN:
        review_reason = RISK_PREFIX + ", ".join(sorted(set(flag.reasons)))
    elif review_reason and review_reason.startswith(RISK_PREFIX):
        review_reason = None  # released
    if review_reason:
        return Decision(CommissionState.ON_REVIEW, amount, hold_until, review_reason)
    if order.status == COMPLETED and order.completed_at is not None:
        if hold_until is None:
            hold_until = order.completed_at + return_window
        state = CommissionState.AVAILABLE if hold_until <= now else CommissionState.HOLDING
        return Decision(state, amount, hold_until, review_reason)
    # back to pending: completing again restarts the window
    return Decision(CommissionState.PENDING, amount, None, review_reason)
