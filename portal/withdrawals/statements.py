"""Numbered statements (self-billing invoices): one per paid withdrawal and one per
calendar month with money in the available balance.

What a statement lists is read from the ledger, so it is the same every time it is drawn:
every entry into ``available`` in its period except the withdrawals themselves — commission
that became available, later changes of those orders, manual adjustments and campaign
bonuses. A payout statement's period runs from the distributor's previous paid withdrawal
to this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from portal.campaigns.models import Campaign
from portal.commissions.models import Commission
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.ledger.labels import reference_text
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.links.cards import find_font
from portal.notifications.models import Notification
from portal.orders.models import Order
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals import statement_pdf
from portal.withdrawals.models import Statement, StatementKind, Withdrawal, WithdrawalState

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    when: datetime
    text: str
    amount: Decimal


def _next_number() -> int:
    """The next number; on PostgreSQL the table is locked against other issuers until the
    caller commits (SQLite has one writer at a time already). The unique index catches
    anything else."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE statements IN SHARE ROW EXCLUSIVE MODE"))
    return (db.session.scalar(select(func.max(Statement.number))) or 0) + 1


def issue_for_payout(withdrawal: Withdrawal) -> Statement:
    """The statement of a withdrawal being paid, in the caller's transaction (which
    commits it together with the payment)."""
    previous = db.session.scalar(
        select(func.max(Withdrawal.paid_at)).where(
            Withdrawal.distributor_id == withdrawal.distributor_id,
            Withdrawal.state == WithdrawalState.PAID,
            Withdrawal.id != withdrawal.id,
        )
    )
    assert withdrawal.paid_at is not None
    statement = Statement(
        number=_next_number(),
        kind=StatementKind.PAYOUT,
        distributor_id=withdrawal.distributor_id,
        withdrawal_id=withdrawal.id,
        currency=withdrawal.currency,
        period_start=previous or EPOCH,
        period_end=withdrawal.paid_at,
    )
    db.session.add(statement)
    db.session.flush()
    return statement


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) before the one ``now`` is in."""
    end = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (end - timedelta(days=1)).replace(day=1), end


def issue_months(now: datetime, batch: int = 500) -> int:
    """Periodic: the statements of last month for every distributor with money booked into
    ``available`` in it, committed ``batch`` at a time; run again, it issues only the
    missing ones. Returns how many it issued."""
    start, end = _month_bounds(now)
    issued = 0
    while True:
        missing = db.session.execute(
            select(LedgerEntry.distributor_id, func.min(LedgerEntry.currency))
            .where(
                LedgerEntry.bucket == Bucket.AVAILABLE.value,
                LedgerEntry.kind != EntryKind.WITHDRAWAL.value,
                LedgerEntry.created_at >= start,
                LedgerEntry.created_at < end,
                ~select(Statement.id)
                .where(
                    Statement.distributor_id == LedgerEntry.distributor_id,
                    Statement.kind == StatementKind.MONTH,
                    Statement.period_start == start,
                )
                .exists(),
            )
            .group_by(LedgerEntry.distributor_id)
            .order_by(LedgerEntry.distributor_id)
            .limit(batch)
        ).all()
        if not missing:
            return issued
        for distributor_id, currency in missing:
            db.session.add(
                Statement(
                    number=_next_number(),
                    kind=StatementKind.MONTH,
                    distributor_id=distributor_id,
                    currency=currency,
                    period_start=start,
                    period_end=end,
                )
            )
            db.session.flush()
        db.session.commit()
        issued += len(missing)


def issue_last_month() -> int:
    """The periodic job (daily): last month's statements, once."""
    return issue_months(utcnow())


def lines(statement: Statement) -> list[Line]:
    """What the statement covers, oldest first, each in words."""
    entries = db.session.execute(
        select(LedgerEntry, Order.number, Order.shop_order_id)
        .outerjoin(Commission, Commission.id == LedgerEntry.commission_id)
        .outerjoin(Order, Order.id == Commission.order_id)
        .where(
            LedgerEntry.distributor_id == statement.distributor_id,
            LedgerEntry.bucket == Bucket.AVAILABLE.value,
            LedgerEntry.kind != EntryKind.WITHDRAWAL.value,
            LedgerEntry.created_at >= statement.period_start,
            LedgerEntry.created_at < statement.period_end,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    campaign_ids = {
        int(entry.reference.split(":")[1])
        for entry, _n, _s in entries
        if entry.reference.startswith("campaign:") and entry.reference.split(":")[1].isdigit()
    }
    campaigns = (
        dict(
            db.session.execute(
                select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
            ).all()
        )
        if campaign_ids
        else {}
    )
    return [
        Line(entry.created_at, _describe(entry, number or shop_id, campaigns), entry.amount)
        for entry, number, shop_id in entries
    ]


def _describe(entry: LedgerEntry, order: str | None, campaigns: dict[int, str]) -> str:
    if order is not None:
        if entry.kind == EntryKind.ADJUSTMENT.value:
            return _("Order %(order)s changed", order=order)
        return _("Commission on order %(order)s", order=order)
    if entry.kind == EntryKind.MANUAL.value:
        reason = entry.reference.partition(" ")[2]
        return _("Manual adjustment: %(reason)s", reason=reason)
    if entry.reference.startswith("campaign:"):
        campaign_id = entry.reference.split(":")[1]
        name = campaigns.get(int(campaign_id)) if campaign_id.isdigit() else None
        return _("Campaign bonus: %(campaign)s", campaign=name or campaign_id)
    return reference_text(entry.reference)


def of_distributor(distributor_id: int) -> list[Statement]:
    """The distributor's statements, newest first."""
    return list(
        db.session.scalars(
            select(Statement)
            .where(Statement.distributor_id == distributor_id)
            .options(selectinload(Statement.withdrawal))
            .order_by(Statement.number.desc())
        )
    )


def by_number(number: int, distributor_id: int | None = None) -> Statement | None:
    """The statement; with ``distributor_id``, only if it is theirs (else ``None`` → 404)."""
    query = select(Statement).where(Statement.number == number)
    if distributor_id is not None:
        query = query.where(Statement.distributor_id == distributor_id)
    return db.session.scalar(query.options(selectinload(Statement.withdrawal)))


def for_withdrawal(withdrawal_id: int) -> Statement | None:
    return db.session.scalar(select(Statement).where(Statement.withdrawal_id == withdrawal_id))


def number_text(statement: Statement) -> str:
    return f"{statement.number:06d}"


def filename(statement: Statement) -> str:
    return f"statement-{number_text(statement)}.pdf"


def language(distributor: Distributor) -> str:
    """The distributor's own language, whoever downloads the statement."""
    locale = distributor.user.locale
    return locale if locale in settings.SUPPORTED_LOCALES else settings.get("default_locale")


def pdf(statement: Statement) -> bytes:
    """The statement as PDF, in the distributor's language."""
    distributor = db.session.get(Distributor, statement.distributor_id)
    assert distributor is not None
    with force_locale(language(distributor)):
        document = _document(statement, distributor)
    return statement_pdf.render(document, find_font(current_app.config["PORTAL_CARD_FONT"] or None))


def _document(statement: Statement, distributor: Distributor) -> statement_pdf.Document:
    covered = lines(statement)
    currency = statement.currency
    issuer = settings.get("legal_name") or _("the programme")
    facts = [
        (_("Issued"), format_date(statement.issued_at, "long")),
        (
            _("Period"),
            _(
                "%(start)s to %(end)s",
                start=format_date(statement.period_start, "long")
                if statement.period_start > EPOCH
                else _("the start"),
                end=format_date(statement.period_end - timedelta(seconds=1), "long"),
            ),
        ),
        (_("Issued by"), " · ".join(p for p in (issuer, settings.get("legal_address")) if p)),
        (
            _("Distributor"),
            f"{distributor.display_name} ({distributor.code}) · {distributor.user.email}",
        ),
    ]
    payout: list[tuple[str, str]] = []
    withdrawal = statement.withdrawal
    if withdrawal is not None:
        payout = [
            (_("Withdrawn"), money(withdrawal.amount, currency)),
            (_("Fee"), money(withdrawal.fee, currency)),
            (_("Sent"), money(withdrawal.net, currency)),
            (_("Payment reference"), withdrawal.reference or ""),
        ]
    title = (
        _("Self-billing statement")
        if statement.kind is StatementKind.PAYOUT
        else _("Monthly statement")
    )
    return statement_pdf.Document(
        title=title,
        number=_("No. %(number)s", number=number_text(statement)),
        facts=facts,
        columns=(_("Date"), _("Description"), _("Amount")),
        rows=[
            (format_date(line.when, "short"), line.text, money(line.amount, currency))
            for line in covered
        ],
        total=(_("Total"), money(sum((line.amount for line in covered), Decimal(0)), currency)),
        payout=payout,
        note=_(
            "Self-billing: %(issuer)s issued this statement on behalf of the distributor, "
            "who agreed to self-billing in the programme's terms.",
            issuer=issuer,
        ),
    )


def attachments(notification: Notification) -> list[tuple[str, str, bytes]]:
    """The statement a withdrawal-paid email carries."""
    number = notification.params.get("statement")
    statement = (
        by_number(int(number), notification.distributor_id) if isinstance(number, int) else None
    )
    return [] if statement is None else [(filename(statement), "application/pdf", pdf(statement))]


def numbers_for(withdrawal_ids: list[int]) -> dict[int, int]:
    """Statement number of each paid withdrawal among ``withdrawal_ids`` (one query)."""
    if not withdrawal_ids:
        return {}
    return dict(
        db.session.execute(
            select(Statement.withdrawal_id, Statement.number).where(
                Statement.withdrawal_id.in_(withdrawal_ids)
            )
        ).all()
    )
