"""Creating, listing and reading notifications."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, insert, select, update

from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.notifications.models import Notification, NotificationKind
from portal.timeutil import utcnow
from portal.withdrawals.models import Withdrawal


def notify(
    distributor_id: int,
    kind: NotificationKind,
    params: Mapping[str, Any] | None = None,
    key: str | None = None,
) -> Notification | None:
    """Add a notification to the current transaction (the caller commits); the email
    follows from the outbox job. With ``key``, an event already announced is skipped
    (returns None), so jobs may run again over the same events."""
    if key is not None and db.session.scalar(
        select(Notification.id).where(Notification.key == key)
    ):
        return None
    notification = Notification(
        distributor_id=distributor_id, kind=kind, params=dict(params or {}), key=key
    )
    db.session.add(notification)
    return notification


def notify_many(kind: NotificationKind, params: Mapping[int, Mapping[str, Any]]) -> None:
    """:func:`notify` (without a key) for many distributors (distributor id → params), in
    one multi-row INSERT. The caller commits."""
    if params:
        db.session.execute(
            insert(Notification),
            [
                {"distributor_id": d, "kind": kind, "params": dict(p), "key": None}
                for d, p in params.items()
            ],
        )


def announce(
    distributor_id: int, kind: NotificationKind, params: Mapping[str, Any] | None = None
) -> None:
    """:func:`notify` in a transaction of its own, for events already committed."""
    notify(distributor_id, kind, params)
    db.session.commit()


def withdrawal_paid(withdrawal: Withdrawal, statement: int) -> None:
    """Tell the distributor the net amount was sent, with the payment's reference and the
    number of its statement, which the email attaches (the caller,
    :func:`portal.withdrawals.services.pay`, commits)."""
    params = {
        "amount": str(withdrawal.net),
        "currency": withdrawal.currency,
        "reference": withdrawal.reference or "",
        "statement": statement,
    }
    notify(withdrawal.distributor_id, NotificationKind.WITHDRAWAL_PAID, params)


def list_query(distributor_id: int) -> Select[tuple[Notification]]:
    return (
        select(Notification)
        .where(Notification.distributor_id == distributor_id)
        .order_by(Notification.id.desc())
    )


def unread_count(distributor_id: int) -> int:
    """The badge: one indexed count."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.distributor_id == distributor_id, Notification.read_at.is_(None))
    )


def unread_count_for_user(user_id: int) -> int:
    """The nav badge of the signed-in distributor: one count joining their user id."""
    return db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .join(Distributor, Distributor.id == Notification.distributor_id)
        .where(Distributor.user_id == user_id, Notification.read_at.is_(None))
    )


def newest_id(distributor_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.max(Notification.id), 0)).where(
            Notification.distributor_id == distributor_id
        )
    )


def mark_read(
    distributor_id: int, notification_id: int | None = None, up_to: int | None = None
) -> int:
    """Mark one notification of the distributor read, or every unread one up to the id
    ``up_to``. Commits; returns how many changed. Someone else's id changes nothing."""
    query = update(Notification).where(
        Notification.distributor_id == distributor_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    if up_to is not None:
        query = query.where(Notification.id <= up_to)
    result = db.session.execute(
        query.values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def owned(distributor_id: int, notification_id: int) -> Notification | None:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.distributor_id != distributor_id:
        return None
    return notification


def _amount(params: Mapping[str, Any]) -> str:
    return money(Decimal(params.get("amount", "0")), params.get("currency"))


def message(notification: Notification) -> str:
    """The notification's text in the current language (also the email's body)."""
    p = notification.params or {}
    kind = notification.kind
    if kind is NotificationKind.APPROVED:
        return _("Welcome! Your application was approved: you can start sharing your links.")
    if kind is NotificationKind.COMMISSION_AVAILABLE:
        return ngettext(
            "%(num)d commission became available: %(amount)s you can withdraw.",
            "%(num)d commissions became available: %(amount)s you can withdraw.",
            int(p.get("count", 1)),
            amount=_amount(p),
        )
    if kind is NotificationKind.WITHDRAWAL_PAID:
        return _(
            "Your withdrawal of %(amount)s was paid (reference %(reference)s).",
            amount=_amount(p),
            reference=p.get("reference", ""),
        )
    if kind is NotificationKind.LEVEL_UP:
        return _("Congratulations! You reached the level %(level)s.", level=p.get("level", ""))
    if kind is NotificationKind.CAMPAIGN_WON:
        return _("You won the campaign %(campaign)s.", campaign=p.get("campaign", ""))
    return _("New promotion material: %(title)s.", title=p.get("title", ""))


def subject(notification: Notification) -> str:
    """The email subject line."""
    return {
        NotificationKind.APPROVED: _("Your application was approved"),
        NotificationKind.COMMISSION_AVAILABLE: _("Commission available"),
        NotificationKind.WITHDRAWAL_PAID: _("Your withdrawal was paid"),
        NotificationKind.LEVEL_UP: _("You reached a new level"),
        NotificationKind.CAMPAIGN_WON: _("You won a campaign"),
        NotificationKind.NEW_MATERIAL: _("New promotion material"),
    }[notification.kind]
