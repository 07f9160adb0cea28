"""One distributor as ops see it: the figures, lists and pending changes of the admin
page (the changes themselves are in :mod:`portal.distributors.management` and
:mod:`portal.distributors.adjustments`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from portal import periods
from portal.audit.models import AuditEntry
from portal.centre import figures, team
from portal.distributors import adjustments, coupons
from portal.distributors.models import AdjustmentRequest, Distributor, PersonalCoupon
from portal.extensions import db
from portal.ledger.models import Bucket, LedgerEntry
from portal.ledger.services import balances
from portal.orders.models import Order
from portal.pagination import paginate
from portal.risk.models import RiskFlag
from portal.timeutil import utcnow

SHOWN = 20  # audit entries, risk flags, waiting adjustments
CHILDREN_SHOWN = 50


def distributor(distributor_id: int) -> Distributor | None:
    return db.session.get(Distributor, distributor_id)


def ledger_page(distributor_id: int) -> Any:
    """A page (``?page=``) of the distributor's ledger, newest first."""
    return paginate(
        select(LedgerEntry)
        .where(LedgerEntry.distributor_id == distributor_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )


@dataclass(frozen=True)
class Overview:
    balances: dict[Bucket, Decimal]
    month: figures.PeriodFigures  # this calendar month
    last30: figures.PeriodFigures  # the last 30 days
    team_counts: dict[int, int]  # members per depth
    children: list[Distributor]  # direct recruits by name, the first CHILDREN_SHOWN
    trail: list[AuditEntry]  # the latest audit entries about the distributor
    flags: list[RiskFlag]  # the latest risk flags
    ledger: Any  # the first page of ledger_page()
    coupons: list[PersonalCoupon]
    waiting: list[AdjustmentRequest]  # adjustments waiting for a second staff member
    orders: int  # orders credited to the distributor


def of(distributor: Distributor) -> Overview:
    now = utcnow()
    wanted = [periods.month_of(now), periods.last_days(30, now)]
    daily = figures.series(distributor.id, periods.covering(wanted))
    month, last30 = (daily.figures(p) for p in wanted)
    trail = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == "distributor")
        .where(AuditEntry.target_id == str(distributor.id))
        .order_by(AuditEntry.id.desc())
        .limit(SHOWN)
    )
    flags = db.session.scalars(
        select(RiskFlag)
        .where(RiskFlag.distributor_id == distributor.id)
        .order_by(RiskFlag.id.desc())
        .limit(SHOWN)
    )
    children = db.session.scalars(
        select(Distributor)
        .where(Distributor.parent_id == distributor.id)
        .order_by(Distributor.display_name)
        .limit(CHILDREN_SHOWN)
    )
    waiting = db.session.scalars(
        adjustments.pending(distributor.id).options(*adjustments.ROW_OPTIONS).limit(SHOWN)
    )
    orders = db.session.scalar(
        select(func.count(Order.id)).where(Order.distributor_id == distributor.id)
    )
    return Overview(
        balances=balances(distributor.id),
        month=month,
        last30=last30,
        team_counts=team.counts(distributor.id),
        children=list(children),
        trail=list(trail),
        flags=list(flags),
        ledger=ledger_page(distributor.id),
        coupons=coupons.of(distributor.id),
        waiting=list(waiting),
        orders=orders or 0,
    )
