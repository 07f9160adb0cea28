"""Email senders, chosen by ``PORTAL_MAIL_SENDER`` (console | file | smtp | none), and the
outbox job that emails new notifications.

Notifications are written in the transaction of the event (approval, payment, …); the
email goes out afterwards from :func:`deliver_emails`, so a slow or failing mail server
never holds up or rolls back the event, and an email is only sent for a committed one.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from portal.distributors.models import Distributor
from portal.extensions import db
from portal.i18n import recipient_locale
from portal.notifications import services
from portal.notifications.models import Notification
from portal.timeutil import utcnow

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class NoSender:
    """Email switched off: notifications stay in-app only."""

    def send(self, message: EmailMessage) -> None:
        return None


class ConsoleSender:
    """Development: the email is written to the log."""

    def send(self, message: EmailMessage) -> None:
        log.info("email to %s: %s\n%s", message["To"], message["Subject"], message.get_content())


class FileSender:
    """Tests and demos: each email is appended to a file (``PORTAL_MAIL_FILE``)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def send(self, message: EmailMessage) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(message.as_string())
            fh.write("\n")


class SMTPSender:
    """Production: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USER``, ``SMTP_PASSWORD`` and
    ``SMTP_SECURITY`` (starttls | ssl | none)."""

    def __init__(
        self, host: str, port: int, user: str, password: str, security: str = "starttls"
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.security = security

    def send(self, message: EmailMessage) -> None:
        smtp_class = smtplib.SMTP_SSL if self.security == "ssl" else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=30) as smtp:
            if self.security == "starttls":
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def sender() -> Sender:
    """The sender configured for the current app."""
    config = current_app.config
    kind = config["PORTAL_MAIL_SENDER"]
    if kind == "smtp":
        return SMTPSender(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_USER"],
            config["SMTP_PASSWORD"],
            config["SMTP_SECURITY"],
        )
    if kind == "file":
        return FileSender(config["PORTAL_MAIL_FILE"])
    if kind == "none":
        return NoSender()
    return ConsoleSender()


def build(notification: Notification, to: str, locale: str) -> EmailMessage:
    """The email for a notification, written in ``locale`` (the recipient's language,
    not that of whoever or whatever triggered it)."""
    message = EmailMessage()
    message["From"] = current_app.config["PORTAL_MAIL_FROM"]
    message["To"] = to
    with force_locale(locale):
        message["Subject"] = services.subject(notification)
        message.set_content(services.message(notification))
    return message


def deliver_emails(batch: int = 100) -> int:
    """Periodic: email notifications not emailed yet, oldest first. Returns the count.

    Each one is claimed (``emailed_at`` set where it is still NULL) and committed before
    sending, so overlapping runs never send twice; a failed send releases the claim and
    the next run tries again.
    """
    outbox = select(Notification.id).where(Notification.emailed_at.is_(None))
    ids = list(db.session.scalars(outbox.order_by(Notification.id).limit(batch)))
    mailer = sender()
    sent = 0
    for notification_id in ids:
        claimed = db.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.emailed_at.is_(None))
            .values(emailed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if claimed.rowcount != 1:
            continue
        notification = db.session.get(Notification, notification_id)
        assert notification is not None
        distributor = db.session.scalar(
            select(Distributor)
            .options(selectinload(Distributor.user))
            .where(Distributor.id == notification.distributor_id)
        )
        assert distributor is not None
        try:
            user = distributor.user
            mailer.send(build(notification, user.email, recipient_locale(user)))
        except (OSError, smtplib.SMTPException):
            log.exception("emailing notification %s failed; retrying later", notification_id)
            db.session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .values(emailed_at=None)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            break
        sent += 1
    return sent
