"""Which language a page or an email speaks, and the header's language switcher.

Order of precedence for a request: the signed-in user's profile (``User.locale``), then the
``locale`` cookie the switcher sets for visitors who are not signed in, then the browser's
``Accept-Language``, then the shop default (setting ``default_locale``). Signing up saves
the page's language on the new profile, signing in saves a switcher choice made before.
Emails are written in the recipient's language, whoever triggered them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from flask import Blueprint, Flask, abort, has_request_context, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.extensions import db
from portal.security import safe_next

COOKIE = "locale"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Accept-Language tags we understand, mapped to our catalogue names (best_match wants them).
_BROWSER_TAGS = {
    "en": "en",
    "zh": "zh_Hans",
    "zh-CN": "zh_Hans",
    "zh-Hans": "zh_Hans",
    "zh-SG": "zh_Hans",
}

SUPPORTED_LOCALES = ("en", "zh_Hans")
# Each language named in itself, so a reader finds theirs whatever the page speaks.
LOCALE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
# Where the shop's default language comes from: the business settings put their reader
# here when the app starts (this support module imports no domain package).
DEFAULT_SOURCE: list[Callable[[], str]] = []

bp = Blueprint("i18n", __name__)


class Recipient(Protocol):
    """Whoever is written to: a user (portal.accounts) — named by shape, so this support
    module does not import the accounts package that imports it."""

    locale: str | None


def _supported() -> tuple[str, ...]:
    return SUPPORTED_LOCALES


def _default() -> str:
    return DEFAULT_SOURCE[-1]() if DEFAULT_SOURCE else SUPPORTED_LOCALES[0]


def select_locale() -> str:
    """Flask-Babel's locale selector (see the module docstring for the order)."""
    if not has_request_context():  # CLI and jobs speak the shop's default language
        return _default()
    supported = _supported()
    if current_user and current_user.is_authenticated and current_user.locale in supported:
        return current_user.locale
    cookie = chosen_locale()
    if cookie:
        return cookie
    best = request.accept_languages.best_match(list(_BROWSER_TAGS))
    if best:
        return _BROWSER_TAGS[best]
    return _default()


def chosen_locale() -> str | None:
    """The language a visitor picked with the switcher (the cookie), if any: an explicit
    choice, unlike the browser's or the shop's default."""
    cookie = request.cookies.get(COOKIE)
    return cookie if cookie in _supported() else None


def from_tag(tag: str | None) -> str | None:
    """Our locale for a language tag from elsewhere (a shop's ``zh_CN``, ``en-US``), if we
    speak it."""
    if not tag:
        return None
    tag = tag.replace("_", "-")
    for candidate in (tag, tag.split("-", 1)[0]):
        if candidate in _BROWSER_TAGS:
            return _BROWSER_TAGS[candidate]
    return None


def recipient_locale(user: Recipient) -> str:
    """The language to write to ``user`` in (emails): their profile, else the shop default."""
    return user.locale if user.locale in _supported() else _default()


@bp.post("/locale")
def switch() -> Response:
    """The header switcher (CSRF-protected like every form): remembers the choice on the
    profile when signed in, else in a cookie, then goes back to the page it came from —
    only ever a local path, never another site."""
    locale = request.form.get("locale", "")
    if locale not in _supported():
        abort(400)
    target = safe_next(request.form.get("next")) or url_for("core.index")
    response = redirect(target)
    if current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    else:
        response.set_cookie(
            COOKIE,
            locale,
            max_age=COOKIE_MAX_AGE,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def switcher() -> dict[str, object]:
        here = request.full_path if request.query_string else request.path
        return {"locale_names": LOCALE_NAMES, "locale_next": here}
