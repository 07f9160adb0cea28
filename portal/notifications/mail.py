"""The job that emails new notifications (senders and the outbox drain are
:mod:`portal.mail`; account links have their own outbox in :mod:`portal.accounts.mail`).

Notifications are written in the transaction of the event (approval, payment, …); the
email goes out afterwards from :func:`deliver_emails`, so a slow or failing mail server
never holds up or rolls back the event, and an email is only sent for a committed one.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.distributors.models import Distributor
from portal.extensions import db
from portal.i18n import recipient_locale
from portal.mail import absolute_url, drain_outbox, email
from portal.notifications import services
from portal.notifications.models import Notification, NotificationKind


def build(notification: Notification, to: str, locale: str) -> EmailMessage:
    """The email for a notification, ending with the link to what it is about."""

    def write() -> tuple[str, str]:
        url = absolute_url(*services.target(notification))
        body = f"{services.message(notification)}\n\n{services.link_text(notification)}: {url}"
        return services.subject(notification), body

    return email(to, locale, write)


# (filename, MIME type, content) of each file an email of that kind carries.
Attacher = Callable[[Notification], list[tuple[str, str, bytes]]]
_ATTACHERS_KEY = "portal.mail.attachers"


def attach_to(app: Flask, kind: NotificationKind, attacher: Attacher) -> None:
    """Declare the files that emails of ``kind`` carry (the withdrawal-paid email carries
    its statement); the domain that owns them registers this at start-up."""
    app.extensions.setdefault(_ATTACHERS_KEY, {})[kind] = attacher


def _notification_email(notification: Notification) -> EmailMessage:
    distributor = db.session.scalar(
        select(Distributor)
        .options(selectinload(Distributor.user))
        .where(Distributor.id == notification.distributor_id)
    )
    assert distributor is not None
    user = distributor.user
    message = build(notification, user.email, recipient_locale(user))
    attacher = current_app.extensions.get(_ATTACHERS_KEY, {}).get(notification.kind)
    for name, mimetype, content in attacher(notification) if attacher else ():
        maintype, _slash, subtype = mimetype.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def deliver_emails(batch: int = 100) -> int:
    """Periodic: email notifications not emailed yet, oldest first. Returns the count."""
    outbox = select(Notification.id).where(Notification.emailed_at.is_(None))
    return drain_outbox(Notification, outbox, _notification_email, batch)
