"""The orders a distributor earned on (or was credited with) and every commission line,
with its state history: the page that answers "why didn't I get this?"."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, union
from sqlalchemy.orm import selectinload

from portal.commissions.labels import STATE_LABELS, ZERO_REASONS
from portal.commissions.models import Commission, CommissionState
from portal.csvwriter import GuardedWriter
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger.labels import BUCKET_LABELS, KIND_LABELS, reference_text
from portal.ledger.models import EntryKind, LedgerEntry
from portal.money import round_money
from portal.orders.labels import ATTRIBUTION_LABELS, ORDER_STATUS_LABELS, seller_text
from portal.orders.models import Order
from portal.periods import Period


def _involved(distributor_id: int) -> Any:
    """Ids of orders attributed to the distributor or paying them any commission."""
    return union(
        select(Order.id).where(Order.distributor_id == distributor_id),
        select(Commission.order_id).where(Commission.beneficiary_id == distributor_id),
    )


def lines_query(
    distributor_id: int, state: CommissionState | None, month: Period | None
) -> Select[tuple[Commission]]:
    """The distributor's commission lines, newest order first: one per order (a
    distributor is paid at one depth of an order), paged by one index.

    An order shows up once its commission is computed — for a new order, seconds after
    the shop sends it.
    """
    query = select(Commission).where(Commission.beneficiary_id == distributor_id)
    if state is not None:
        query = query.where(Commission.state == state)
    if month is not None:
        query = query.where(
            Commission.order_created_at >= month.start, Commission.order_created_at < month.end
        )
    return query.options(selectinload(Commission.order)).order_by(
        Commission.order_created_at.desc(), Commission.id.desc()
    )


def find_order(distributor_id: int, order_id: int) -> Order | None:
    """The order if the distributor is involved in it, else ``None`` (→ 404)."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id, Order.id.in_(_involved(distributor_id)))
        .options(selectinload(Order.lines))
    )


@dataclass(frozen=True)
class OrderRow:
    order: Order
    commissions: list[Commission]
    seller: str | None  # the team member who made the sale, when it was not the distributor


def rows(distributor_id: int, commissions: list[Commission]) -> list[OrderRow]:
    """A page of commission lines as order rows, with the seller's name for team orders."""
    sellers = _seller_names(
        {
            c.order.distributor_id
            for c in commissions
            if c.order.distributor_id not in (None, distributor_id)
        }
    )
    return [OrderRow(c.order, [c], sellers.get(c.order.distributor_id)) for c in commissions]


def order_row(distributor_id: int, order: Order) -> OrderRow:
    """One order with all of the distributor's lines on it and their state history."""
    lines = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.beneficiary_id == distributor_id, Commission.order_id == order.id)
            .options(selectinload(Commission.events))
            .order_by(Commission.depth)
        )
    )
    seller = None
    if order.distributor_id not in (None, distributor_id):
        seller = _seller_names({order.distributor_id}).get(order.distributor_id)
    return OrderRow(order, lines, seller)


def _seller_names(ids: set[int | None]) -> dict[int | None, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Distributor.id, Distributor.display_name).where(Distributor.id.in_(ids))
        ).all()
    )


# Column names are words in the reader's language (the request's locale), as are the
# statuses, methods, states and zero reasons in the rows; numbers and dates stay plain.
CSV_HEADER = (
    _l("Order"),
    _l("Order date"),
    _l("Order status"),
    _l("Sold by"),
    _l("How it came to me"),
    _l("Team level"),
    _l("Commission basis"),
    _l("Rate (%)"),
    _l("Fixed per unit"),
    _l("Amount"),
    _l("Currency"),
    _l("State"),
    _l("Why it is zero"),
)


def csv_lines(
    distributor_id: int, state: CommissionState | None, month: Period | None
) -> Iterator[str]:
    """The statement as CSV, one row per commission line, streamed page by page, then (when
    no commission state is asked for) the manual adjustments and campaign bonuses."""
    buffer = io.StringIO()
    writer = GuardedWriter(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([str(name) for name in CSV_HEADER])
    yield "\ufeff" + flush()  # a BOM: spreadsheet programs then read Chinese correctly
    query = lines_query(distributor_id, state, month)
    offset, size = 0, 500
    while True:
        page = list(db.session.scalars(query.limit(size).offset(offset)))
        if not page:
            break
        for row in rows(distributor_id, page):
            writer.writerow(_csv_row(row, row.commissions[0]))
        yield flush()
        offset += size
    if state is None:  # money that is no commission line: it has no commission state
        for entry in db.session.scalars(_other_money(distributor_id, month)):
            writer.writerow(_money_row(entry))
        yield flush()


# Money booked without a commission line: manual adjustments and campaign bonuses.
OTHER_MONEY = (EntryKind.MANUAL.value, EntryKind.BONUS.value)


def _other_money(distributor_id: int, month: Period | None) -> Select[tuple[LedgerEntry]]:
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.distributor_id == distributor_id, LedgerEntry.kind.in_(OTHER_MONEY))
        .order_by(LedgerEntry.id)
    )
    if month is not None:
        query = query.where(
            LedgerEntry.created_at >= month.start, LedgerEntry.created_at < month.end
        )
    return query


def _money_row(entry: LedgerEntry) -> list[object]:
    """A manual adjustment or campaign bonus in the commission lines' columns: what it is
    (in words, with its reason or campaign), when, how much and in which balance."""
    return [
        "",
        entry.created_at.date().isoformat(),
        "",
        "",
        f"{KIND_LABELS.get(entry.kind, entry.kind)}: {reference_text(entry.reference)}",
        "",
        "",
        "",
        "",
        round_money(entry.amount, entry.currency),
        entry.currency,
        str(BUCKET_LABELS.get(entry.bucket, entry.bucket)),
        "",
    ]


def _csv_row(row: OrderRow, commission: Commission) -> list[object]:
    order = row.order
    method = order.attribution_method
    return [
        order.number or order.shop_order_id,
        order.created_at_shop.date().isoformat(),
        str(ORDER_STATUS_LABELS.get(order.status, order.status)),
        seller_text(row.seller),
        str(ATTRIBUTION_LABELS.get(method, method)) if method else "",
        commission.depth,
        round_money(commission.basis, commission.currency),
        "" if commission.rate is None else format(commission.rate.normalize(), "f"),
        "" if commission.fixed is None else round_money(commission.fixed, commission.currency),
        round_money(commission.amount, commission.currency),
        commission.currency,
        str(STATE_LABELS[commission.state.value]),
        str(ZERO_REASONS.get(commission.zero_reason, commission.zero_reason))
        if commission.zero_reason
        else "",
    ]


def state_filter(value: str | None) -> CommissionState | None:
    try:
        return CommissionState(value) if value else None
    except ValueError:
        return None
