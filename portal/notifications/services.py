"""Creating, listing and reading notifications."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, insert, select, update

from portal.distributors.models import Distributor
from portal.extensions import db
from portal.formatting import money
from portal.notifications.models import Notification, NotificationKind
from portal.paypal_reasons import paypal_reason
from portal.timeutil import utcnow


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


class PaidWithdrawal(Protocol):
    """A paid withdrawal (portal.withdrawals), named by shape: the withdrawals package calls
    this module, so this one does not import it."""

    distributor_id: int
    net: Decimal
    currency: str
    reference: str | None


class RejectedWithdrawal(Protocol):
    """A rejected withdrawal, named by shape (as :class:`PaidWithdrawal`)."""

    id: int
    distributor_id: int
    amount: Decimal
    currency: str
    reason: str | None


def withdrawal_paid(withdrawal: PaidWithdrawal, statement: int) -> None:
    """Tell the distributor the net amount was sent, with the payment's reference and the
    number of its statement, which the email attaches (the caller,
    :func:`portal.withdrawals.services.pay`, commits)."""
    params = {
        "amount": str(withdrawal.net),
        "currency": withdrawal.currency,
        "reference": withdrawal.reference or "",
        "statement": statement,
        "withdrawal_id": withdrawal.id,
    }
    notify(withdrawal.distributor_id, NotificationKind.WITHDRAWAL_PAID, params)


def withdrawal_rejected(withdrawal: RejectedWithdrawal) -> None:
    """Tell the distributor why, and that the amount is back (the caller commits)."""
    params = {
        "amount": str(withdrawal.amount),
        "currency": withdrawal.currency,
        "reason": withdrawal.reason or "",
        "withdrawal_id": withdrawal.id,
    }
    notify(withdrawal.distributor_id, NotificationKind.WITHDRAWAL_REJECTED, params)


def application_rejected(distributor: Distributor) -> None:
    """Tell the applicant, with the reason when ops gave one (the caller commits)."""
    params = {"reason": distributor.review_note or ""}
    notify(distributor.id, NotificationKind.APPLICATION_REJECTED, params)


def save_settings(distributor: Distributor, commission: bool, team_sale: bool) -> None:
    """The distributor's choice of notices: an order of theirs earning commission, and a
    team member's sale (the caller commits)."""
    distributor.notify_commission = commission
    distributor.notify_team_sale = team_sale
    db.session.flush()


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


def _int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def target(notification: Notification) -> tuple[str, dict[str, Any]]:
    """Where the notification's link goes: (endpoint, values) of what it is about. Kinds
    stored before a notice carried its object's id go to that object's list."""
    p = notification.params or {}
    kind = notification.kind
    if kind in (NotificationKind.ORDER_COMMISSION, NotificationKind.TEAM_SALE):
        order_id = _int(p, "order_id")
        return ("me.order", {"order_id": order_id}) if order_id else ("me.orders", {})
    if kind in (NotificationKind.WITHDRAWAL_PAID, NotificationKind.WITHDRAWAL_REJECTED):
        withdrawal_id = _int(p, "withdrawal_id")
        if withdrawal_id:
            return "me_withdrawals.detail", {"withdrawal_id": withdrawal_id}
        return "me_withdrawals.index", {}
    if kind is NotificationKind.COMMISSION_AVAILABLE:
        return "me_withdrawals.index", {}
    if kind is NotificationKind.CAMPAIGN_WON:
        campaign_id = _int(p, "campaign_id")
        if campaign_id:
            return "me_campaigns.leaderboard", {"period": "campaign", "campaign": campaign_id}
        return "me_campaigns.mine", {}
    if kind is NotificationKind.NEW_MATERIAL:
        return "me_materials.library", {}
    if kind is NotificationKind.APPROVED:
        return "me_links.index", {}
    return "me.home", {}  # level up, a rejected application: the dashboard says more


def link_text(notification: Notification) -> str:
    """The words of the notification's link (what it opens)."""
    kind = notification.kind
    if kind in (NotificationKind.ORDER_COMMISSION, NotificationKind.TEAM_SALE):
        return _("See the order")
    if kind in (NotificationKind.WITHDRAWAL_PAID, NotificationKind.WITHDRAWAL_REJECTED):
        return _("See the withdrawal")
    if kind is NotificationKind.COMMISSION_AVAILABLE:
        return _("Withdraw")
    if kind is NotificationKind.CAMPAIGN_WON:
        return _("See the results")
    if kind is NotificationKind.NEW_MATERIAL:
        return _("Open the library")
    if kind is NotificationKind.APPROVED:
        return _("Start sharing")
    return _("Open my centre")


def link(notification: Notification) -> tuple[str, str]:
    """(URL, words) of the notification's link on its page."""
    endpoint, values = target(notification)
    return url_for(endpoint, **values), link_text(notification)


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
    if kind is NotificationKind.WITHDRAWAL_RETURNED:
        return _(
            "Your withdrawal of %(amount)s was not paid: %(reason)s The amount is back in "
            "your available balance.",
            amount=_amount(p),
            reason=paypal_reason(p.get("status", ""), p.get("code")),
        )
    if kind is NotificationKind.LEVEL_UP:
        return _("Congratulations! You reached the level %(level)s.", level=p.get("level", ""))
    if kind is NotificationKind.CAMPAIGN_WON:
        if "amount" not in p:
            return _("You won the campaign %(campaign)s.", campaign=p.get("campaign", ""))
        rank = _int(p, "rank")
        if rank:
            return _(
                "You won %(amount)s in the campaign %(campaign)s: place %(rank)d.",
                amount=_amount(p),
                campaign=p.get("campaign", ""),
                rank=rank,
            )
        return _(
            "You won %(amount)s in the campaign %(campaign)s.",
            amount=_amount(p),
            campaign=p.get("campaign", ""),
        )
    if kind is NotificationKind.ORDER_COMMISSION:
        return _(
            "Order %(order)s earns you %(amount)s commission.",
            order=p.get("order", ""),
            amount=_amount(p),
        )
    if kind is NotificationKind.TEAM_SALE:
        return _(
            "%(name)s in your team made a sale (order %(order)s): it earns you %(amount)s.",
            name=p.get("name", ""),
            order=p.get("order", ""),
            amount=_amount(p),
        )
    if kind is NotificationKind.APPLICATION_REJECTED:
        if p.get("reason"):
            return _("Your application was not approved. Reason: %(reason)s", reason=p["reason"])
        return _("Your application was not approved.")
    if kind is NotificationKind.WITHDRAWAL_REJECTED:
        return _(
            "Your withdrawal of %(amount)s was rejected. Reason: %(reason)s. The amount is "
            "back in your available balance.",
            amount=_amount(p),
            reason=p.get("reason", ""),
        )
    return _("New promotion material: %(title)s.", title=p.get("title", ""))


def subject(notification: Notification) -> str:
    """The email subject line."""
    return {
        NotificationKind.APPROVED: _("Your application was approved"),
        NotificationKind.COMMISSION_AVAILABLE: _("Commission available"),
        NotificationKind.WITHDRAWAL_PAID: _("Your withdrawal was paid"),
        NotificationKind.WITHDRAWAL_RETURNED: _("Your withdrawal was not paid"),
        NotificationKind.LEVEL_UP: _("You reached a new level"),
        NotificationKind.CAMPAIGN_WON: _("You won a campaign"),
        NotificationKind.NEW_MATERIAL: _("New promotion material"),
        NotificationKind.ORDER_COMMISSION: _("An order earns you commission"),
        NotificationKind.TEAM_SALE: _("Your team made a sale"),
        NotificationKind.APPLICATION_REJECTED: _("Your application was not approved"),
        NotificationKind.WITHDRAWAL_REJECTED: _("Your withdrawal was rejected"),
    }[notification.kind]


def _application_approved(distributor: Distributor) -> None:
    notify(distributor.id, NotificationKind.APPROVED)


def install() -> None:
    """Tell applicants how their application went (distributors do not import this)."""
    from portal.distributors import signals

    signals.approved.connect(_application_approved)
    signals.rejected.connect(application_rejected)
