"""Recruitment modes (Admin → Settings → How people become distributors), the team a
newcomer joins and the terms they accept.

* ``apply``: applications at ``/join`` wait in the approval queue;
* ``open``: applications are approved at once;
* ``every_buyer`` (人人分销) and ``spend_threshold`` (满额分销): the periodic job in
  :mod:`portal.join.buyers` makes buyers distributors and emails them an invitation;
  ``/join`` still takes applications, for review.

Whichever way someone arrives they join the team of the distributor who brought them: the
invite link (``/join/<code>``), else ``?ref=<code>`` or the ref cookie a short link set,
else their running customer binding, else the distributor whose paid orders they bought
through (the latest) — found by :mod:`portal.join.uplines`. The join pages and the terms
they show are :mod:`portal.join`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection

from werkzeug.wrappers import Response

from portal.settings import services as settings

OPEN = "open"
BUYER_MODES = frozenset({"every_buyer", "spend_threshold"})

# Set by the short links (/r/<code>), so someone who later opens /join on the portal joins
# the team of the distributor whose link brought them.
REF_COOKIE = "portal_ref"
REF_COOKIE_DAYS = 30


def approves_at_once() -> bool:
    return settings.get("recruitment_mode") == OPEN


def remember_referrer(response: Response, code: str) -> None:
    response.set_cookie(
        REF_COOKIE, code, max_age=REF_COOKIE_DAYS * 86400, httponly=True, samesite="Lax"
    )


# Who finds the upline a newcomer joins under by their email, when no link brought them:
# :mod:`portal.join.uplines` puts its finder here when the app starts (it reads orders,
# which distributors do not import).
UPLINE_FINDERS: list[Callable[[Collection[str]], dict[str, int]]] = []


def uplines(emails: Collection[str]) -> dict[str, int]:
    """The active distributor each (normalised) email is bound to, where one is."""
    found: dict[str, int] = {}
    for finder in UPLINE_FINDERS:
        found.update(finder([email for email in emails if email not in found]))
    return found


# --- the terms shown on the join page --------------------------------------------------


def terms_text() -> str:
    return settings.get("recruitment_terms")


def terms_version(text: str | None = None) -> str | None:
    """The fingerprint stored with an acceptance (``None``: no terms to accept)."""
    text = terms_text() if text is None else text
    return hashlib.sha256(text.encode()).hexdigest() if text else None
