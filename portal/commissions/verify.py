"""The ledger's checks of commissions (``portal ledger verify``): every commission's entries
sum to its amount (a reversed one to zero), its money sits in its state's bucket, and its
transfers net to zero (money moved, never made)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import case, func, select

from portal.commissions.models import Commission
from portal.commissions.settling import STATE_BUCKETS
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import EntryKind, LedgerEntry
from portal.money import round_money

ZERO = Decimal(0)


def commission_problems() -> list[str]:
    """What is wrong between commissions and their ledger entries; [] when sound."""
    problems: list[str] = []
    per_commission: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    transfers: dict[int, Decimal] = defaultdict(Decimal)
    rows = db.session.execute(
        select(
            LedgerEntry.commission_id,
            LedgerEntry.bucket,
            func.sum(LedgerEntry.amount),
            func.sum(
                case((LedgerEntry.kind == EntryKind.TRANSFER.value, LedgerEntry.amount), else_=0)
            ),
        )
        .where(LedgerEntry.commission_id.is_not(None))
        .group_by(LedgerEntry.commission_id, LedgerEntry.bucket)
    )
    for commission_id, bucket, total, transferred in rows:
        per_commission[commission_id][bucket] += Decimal(total)
        transfers[commission_id] += Decimal(transferred or 0)
    for commission in db.session.scalars(select(Commission).execution_options(yield_per=1000)):
        buckets = per_commission.get(commission.id, {})
        net = sum(buckets.values(), ZERO)
        if net != commission.amount:
            shown = [round_money(v, commission.currency) for v in (net, commission.amount)]
            problems.append(
                f"commission {commission.id}: entries sum to {shown[0]}, amount is {shown[1]}"
            )
        if commission.state in STATE_BUCKETS:
            outside = {
                b: v for b, v in buckets.items() if b != commission.state.value and v != ZERO
            }
            if outside:
                problems.append(
                    f"commission {commission.id} is {commission.state.value} but holds {outside}"
                )
        if transfers.get(commission.id, ZERO) != ZERO:
            problems.append(
                f"commission {commission.id}: transfers sum to {transfers[commission.id]}"
            )
    return problems


def install() -> None:
    """``ledger.verify()`` runs these checks too (idempotent)."""
    if commission_problems not in ledger.CHECKS:
        ledger.CHECKS.append(commission_problems)
