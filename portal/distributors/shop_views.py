"""Sign in with the shop account — the pages after a shop plugin verified the shop's
assertion and called :func:`welcome`: signed in, the one-tap join page, or connecting an
existing account with its password (see :mod:`portal.distributors.shop_signin`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from portal.accounts.models import User
from portal.accounts.services import AccountError, LoginThrottled, authenticate
from portal.distributors import recruitment, services, shop_signin
from portal.distributors.forms import ShopConnectForm, ShopJoinForm
from portal.distributors.models import DistributorRole, DistributorStatus
from portal.extensions import db
from portal.forms import attach_error

public = Blueprint("shop_signin", __name__)
Page = Response | tuple[str, int]


def refused(message: str, status: int = 403) -> tuple[str, int]:
    """The page for a shop sign-in that cannot go on (every text translated)."""
    return render_template("accounts/shop_refused.html", message=message), status


def _home(message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("me.home"))


def welcome(identity: shop_signin.ShopIdentity) -> Page:
    """A shop customer the shop vouched for (the plugin checked the assertion)."""
    found = shop_signin.match(identity)
    if current_user.is_authenticated:
        if found.user is not None and found.user.id == current_user.id:
            return redirect(url_for("core.index"))
        return refused(
            _(
                "You are signed in to the portal as %(email)s. Sign out first, then open "
                "Distributor centre in the shop again.",
                email=current_user.email,
            ),
            409,
        )
    if found.found is shop_signin.Found.SIGN_IN:
        assert found.user is not None and found.account is not None
        if not found.user.is_active:
            return refused(_("This portal account is deactivated."))
        shop_signin.forget()
        login_user(found.user)
        shop_signin.signed_in(found.account)
        return redirect(url_for("core.index"))
    if found.found is shop_signin.Found.STAFF:
        return refused(
            _(
                "This email belongs to a staff account of the portal: staff sign in with "
                "their password, never through the shop."
            )
        )
    shop_signin.remember(identity, found.user)
    if found.found is shop_signin.Found.CONNECT:
        return redirect(url_for("shop_signin.connect"))
    return redirect(url_for("shop_signin.join"))


def _expired() -> tuple[str, int]:
    return refused(
        _(
            "This page works for a few minutes after you arrive from the shop: open "
            "Distributor centre in the shop again."
        ),
        400,
    )


@public.route("/join/shop", methods=["GET", "POST"])
def join() -> Page:
    waiting = shop_signin.pending()
    if waiting is None or waiting[1] is not None:
        return _expired()
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    identity = waiting[0]
    inviter = services.find_active(
        identity.ref or request.cookies.get(recruitment.REF_COOKIE) or ""
    )
    terms = recruitment.join_terms()
    form = ShopJoinForm(terms_version=terms.version, data={"display_name": identity.name})
    if form.validate_on_submit():
        accepted = form["terms_version"].data if "terms_version" in form else None
        try:
            distributor = shop_signin.join(
                identity,
                form.display_name.data,
                DistributorRole(form.role.data),
                form.note.data,
                accepted or None,
                str(get_locale()),
                inviter,
            )
        except AccountError as exc:
            attach_error(form, exc)
        else:
            shop_signin.forget()
            login_user(distributor.user)
            if distributor.status is DistributorStatus.ACTIVE:
                return _home(_("Welcome aboard! Your account is active."))
            return _home(_("Thanks! Your application is waiting for review."))
    status = 400 if form.errors else 200
    return render_template(
        "join/shop.html", form=form, identity=identity, inviter=inviter, terms=terms
    ), status


@public.route("/join/shop/connect", methods=["GET", "POST"])
def connect() -> Page:
    """An account that may be theirs: the portal password proves it, once."""
    waiting = shop_signin.pending()
    if waiting is None or waiting[1] is None:
        return _expired()
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    identity, candidate_id = waiting
    candidate = db.session.get(User, candidate_id)
    if candidate is None:
        return _expired()
    form = ShopConnectForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                candidate.email, form.password.data, request.remote_addr, request.user_agent.string
            )
            shop_signin.connect(user, identity)
        except LoginThrottled as exc:
            attach_error(form, exc, "password")
            status = 429
        except AccountError as exc:
            attach_error(form, exc, "password")
            status = 401
        else:
            shop_signin.forget()
            login_user(user)
            return _home(
                _("Your shop account is connected: next time Distributor centre signs you in.")
            )
    elif form.is_submitted():
        status = 400
    return render_template(
        "join/shop_connect.html", form=form, identity=identity, email=candidate.email
    ), status
