"""The password policy, applied wherever a password is chosen: sign-up, reset, invitation,
password change and ``portal create-admin``.

At least :data:`MIN_PASSWORD_LENGTH` characters, not one of the 30,000 most common
passwords (the list zxcvbn ships, from leaked-password corpora), and not the person's own
email, the local part of it, their name or the shop's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _

from portal import registry

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


@cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _shop_names() -> list[str]:
    """The shop's and the portal's host names and their first label ("myshop.com",
    "myshop"): the names everyone on the programme knows."""
    if not has_app_context():
        return []
    names = []
    for url in (registry.configured_shop_url(), current_app.config["PORTAL_BASE_URL"]):
        host = urlsplit(url or "").hostname or ""
        host = host.removeprefix("www.")
        if host:
            names += [host, host.split(".")[0]]
    return names


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def problem(password: str, email: str = "", names: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused, as a sentence for the form, or ``None`` if it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    folded = _fold(password)
    if folded in _common():
        return _(
            "This password is one of the most common ones and is guessed first. "
            "Choose another, e.g. a few unrelated words."
        )
    email = email.strip()
    personal = [email, email.partition("@")[0], *names, *_shop_names()]
    if any(word and folded == _fold(word) for word in personal):
        return _("Do not use your email, your name or the shop's name as the password.")
    return None
