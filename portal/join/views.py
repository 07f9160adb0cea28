"""The public join pages: ``/join`` and an invite link ``/join/<code>``, with the terms and
each role's rates; in the team of the distributor whose link or ref cookie brought the
applicant, else the one they are bound to as a customer."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from portal.accounts.services import AccountError
from portal.distributors import recruitment, services
from portal.distributors.forms import ApplicationForm, applicant_from
from portal.distributors.models import Distributor, DistributorStatus
from portal.forms import attach_error
from portal.join.terms import join_terms

public = Blueprint("join", __name__)


def _application(inviter: Distributor | None) -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        flash(_("You are already signed in."), "info")
        return redirect(url_for("core.index"))
    if inviter is None:  # ?ref=<code>, else the cookie a short link set
        inviter = services.find_active(
            request.args.get("ref") or request.cookies.get(recruitment.REF_COOKIE) or ""
        )
    terms = join_terms()
    form = ApplicationForm(terms_version=terms.version)
    if form.validate_on_submit():
        try:
            distributor = services.apply(applicant_from(form), inviter)
        except AccountError as exc:
            attach_error(form, exc)
        else:
            login_user(distributor.user)
            if distributor.status is DistributorStatus.ACTIVE:
                flash(_("Welcome aboard! Your account is active."), "success")
            else:
                flash(_("Thanks! Your application is waiting for review."), "success")
            return redirect(url_for("me.home"))
    status = 400 if form.errors else 200
    return render_template("join/apply.html", form=form, inviter=inviter, terms=terms), status


@public.route("/join", methods=["GET", "POST"])
def apply() -> Response | tuple[str, int]:
    return _application(None)


@public.route("/join/<code>", methods=["GET", "POST"])
def invite(code: str) -> Response | tuple[str, int]:
    inviter = services.find_active(code)
    if inviter is None:
        return render_template("join/unknown_invite.html", code=code[:16]), 404
    return _application(inviter)
