"""Sending email: the senders chosen by ``PORTAL_MAIL_SENDER`` (console | file | smtp |
none), writing an email in its recipient's language, and draining an outbox table.

Outboxes are rows written in the transaction of their event (a notification, an account
link) and emailed afterwards, so a slow or failing mail server never holds up or rolls
back the event, and an email is only sent for a committed one. The notification emails
are :mod:`portal.notifications.mail`, the account links :mod:`portal.accounts.mail`.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from flask import current_app, has_request_context
from flask_babel import force_locale
from sqlalchemy import Select, update

from portal.extensions import db
from portal.rendering import public_url
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


def email(to: str, locale: str, write: Callable[[], tuple[str, str]]) -> EmailMessage:
    """An email to ``to`` whose (subject, body) ``write`` returns, written in ``locale``
    (the recipient's language, not that of whoever or whatever triggered it)."""
    message = EmailMessage()
    message["From"] = current_app.config["PORTAL_MAIL_FROM"]
    message["To"] = to
    with force_locale(locale):
        subject, body = write()
    message["Subject"] = subject
    message.set_content(body)
    message["Content-Language"] = locale.replace("_", "-")  # zh_Hans → zh-Hans (BCP 47)
    return message


def absolute_url(endpoint: str, values: dict[str, Any]) -> str:
    """The public URL of a page, also from a job (no request: ``PORTAL_BASE_URL``'s host),
    as account emails build theirs."""
    if has_request_context():
        return public_url(endpoint, **values)
    with current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"] or None):
        return public_url(endpoint, **values)


def drain_outbox(
    model: Any,
    pending: Select[Any],
    compose: Callable[[Any], EmailMessage | None],
    batch: int = 100,
) -> int:
    """Email the rows of an outbox table (``model`` with an ``emailed_at`` column) that
    ``pending`` selects, oldest first; ``compose`` writes a row's email (``None``: nothing
    to send any more). Returns how many were sent.

    Each row is claimed (``emailed_at`` set where it is still NULL) and committed before
    sending, so overlapping runs never send twice; a failed send releases the claim and
    the next run tries again.
    """
    ids = list(db.session.scalars(pending.order_by(model.id).limit(batch)))
    mailer = sender()
    sent = 0
    for row_id in ids:
        claimed = db.session.execute(
            update(model)
            .where(model.id == row_id, model.emailed_at.is_(None))
            .values(emailed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if claimed.rowcount != 1:
            continue
        message = compose(db.session.get(model, row_id))
        if message is None:
            continue
        try:
            mailer.send(message)
        except (OSError, smtplib.SMTPException):
            log.exception("emailing %s %s failed; retrying later", model.__tablename__, row_id)
            db.session.execute(
                update(model)
                .where(model.id == row_id)
                .values(emailed_at=None)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            break
        sent += 1
    return sent
