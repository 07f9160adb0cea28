"""The emails carrying account links (reset, invitation, unlock) and their outbox job.

The link rows are the outbox: a row is emailed once, in its user's language, right after
the request that made it commits (and by the periodic job should that fail). The links
point at ``PORTAL_BASE_URL`` (else the host of the request that made them).
"""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app, has_request_context
from flask_babel import format_timedelta
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts import tokens
from portal.accounts.models import AccountToken, TokenPurpose, User
from portal.extensions import db
from portal.i18n import recipient_locale
from portal.mail import drain_outbox, email
from portal.rendering import public_url
from portal.timeutil import utcnow

ENDPOINTS = {
    TokenPurpose.RESET: "accounts.reset",
    TokenPurpose.INVITE: "accounts.welcome",
    TokenPurpose.UNLOCK: "accounts.unlock",
}


def link(token: AccountToken) -> str:
    endpoint, signed = ENDPOINTS[token.purpose], tokens.sign(token)
    if has_request_context():
        return public_url(endpoint, token=signed)
    with current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"] or None):
        return public_url(endpoint, token=signed)


def _text(token: AccountToken, url: str) -> tuple[str, str]:
    """Subject and body in the current language."""
    valid = format_timedelta(tokens.lifetime(token.purpose), threshold=1.0)
    if token.purpose is TokenPurpose.RESET:
        return _("Reset your password"), _(
            "Someone, hopefully you, asked to reset the password of your account. "
            "Choose a new one here (the link works once, for %(valid)s):\n\n%(url)s\n\n"
            "If it was not you, ignore this email: your password stays as it is.",
            valid=valid,
            url=url,
        )
    if token.purpose is TokenPurpose.INVITE:
        return _("Choose your password"), _(
            "An account on the distribution portal was made for you. Choose your password "
            "here (the link works once, for %(valid)s):\n\n%(url)s\n\n"
            "Once it has expired, ask for a new one with “Forgot your password?” on the "
            "sign-in page.",
            valid=valid,
            url=url,
        )
    return _("Failed sign-ins to your account"), _(
        "Someone tried to sign in to your account with a wrong password several times, so "
        "signing in from there is slowed down for a while. If it was you, this link lets "
        "you sign in again at once (it works once, for %(valid)s):\n\n%(url)s\n\n"
        "If it was not you, nobody got in. A longer password keeps it that way.",
        valid=valid,
        url=url,
    )


def _compose(token: AccountToken) -> EmailMessage | None:
    if token.used_at is not None or token.expires_at <= utcnow():
        return None
    user = db.session.get(User, token.user_id)
    assert user is not None
    url = link(token)
    return email(user.email, recipient_locale(user), lambda: _text(token, url))


def deliver_account_emails(batch: int = 100) -> int:
    """Email the account links not emailed yet (after each request that made one, and
    periodically). Returns how many were sent."""
    pending = select(AccountToken.id).where(
        AccountToken.emailed_at.is_(None),
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > utcnow(),
    )
    return drain_outbox(AccountToken, pending, _compose, batch)
