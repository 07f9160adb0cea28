"""Sign-in and out, password change and reset, invitations, unlock links, sign out
everywhere."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from portal.accounts import services
from portal.accounts.forms import (
    ConfirmForm,
    ForgotForm,
    LoginForm,
    PasswordChangeForm,
    SetPasswordForm,
)
from portal.accounts.models import TokenPurpose
from portal.forms import attach_error
from portal.i18n import chosen_locale
from portal.security import safe_next

public = Blueprint("accounts", __name__)
REMEMBER_COOKIE = "remember_token"  # Flask-Login's default name (REMEMBER_COOKIE_NAME)
Page = Response | str | tuple[str, int]


def _wait_message(exc: services.LoginThrottled) -> str:
    minutes = max(1, round(exc.retry_after.total_seconds() / 60))
    return _("%(message)s Wait about %(n)d minutes.", message=exc.message, n=minutes)


@public.route("/login", methods=["GET", "POST"])
def login() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data,
                form.password.data,
                request.remote_addr,
                request.user_agent.string,
            )
        except services.LoginThrottled as exc:
            form.form_errors.append(_wait_message(exc))
            form.form_errors.append(
                _(
                    "If this is your account, look in your email for a link that unlocks "
                    "signing in at once, or reset your password."
                )
            )
            status = 429
        except services.InvalidCredentials as exc:
            attach_error(form, exc)
            status = 401
        else:
            login_user(user, remember=form.remember.data)
            locale = chosen_locale()
            if locale:
                services.remember_locale(user, locale)
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
    elif form.is_submitted():
        status = 400
    return render_template("accounts/login.html", form=form), status


@public.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


def _account_page(form: PasswordChangeForm | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "accounts/password.html",
        form=form or PasswordChangeForm(formdata=None),
        sessions_form=ConfirmForm(formdata=None),
    ), status


@public.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Page:
    """A new password ends every other session; this one stays signed in (with
    remember-me if it had it)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.AccountError as exc:
            attach_error(form, exc, "current_password")
        else:
            remembered = bool(request.cookies.get(REMEMBER_COOKIE))
            login_user(current_user._get_current_object(), remember=remembered)
            flash(_("Your password was changed. You were signed out everywhere else."), "success")
            return redirect(url_for("core.index"))
    return _account_page(form, 400 if form.errors else 200)


@public.post("/account/sessions/end")
@login_required
def end_sessions() -> Page:
    """Sign out everywhere, this browser included."""
    if not ConfirmForm().validate_on_submit():
        return _account_page(status=400)
    services.end_sessions(current_user)
    logout_user()
    flash(_("You were signed out on every device. Sign in again here."), "info")
    return redirect(url_for("accounts.login"))


@public.route("/password/forgot", methods=["GET", "POST"])
def forgot() -> Page:
    """The same answer whether or not the email has an account."""
    form = ForgotForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.request_reset(form.email.data, request.remote_addr)
        except services.LoginThrottled as exc:
            form.form_errors.append(_wait_message(exc))
            status = 429
        else:
            return render_template("accounts/reset_sent.html", email=form.email.data)
    elif form.is_submitted():
        status = 400
    return render_template("accounts/forgot.html", form=form), status


def _choose_password(token: str, purpose: TokenPurpose) -> Page:
    try:
        user = services.link_user(token, purpose)
    except services.InvalidLink as exc:
        return render_template("accounts/bad_link.html", message=exc.message), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password_from_link(token, purpose, form.password.data)
        except services.InvalidLink as exc:
            return render_template("accounts/bad_link.html", message=exc.message), 404
        except services.AccountError as exc:
            attach_error(form, exc)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("accounts.login"))
    status = 400 if form.errors else 200
    return render_template(
        "accounts/choose_password.html", form=form, email=user.email, purpose=purpose.value
    ), status


@public.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Page:
    return _choose_password(token, TokenPurpose.RESET)


@public.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str) -> Page:
    """The invitation of an account staff added: choose your password."""
    return _choose_password(token, TokenPurpose.INVITE)


@public.route("/login/unlock/<token>", methods=["GET", "POST"])
def unlock(token: str) -> Page:
    """Opening the link only shows a button (mail scanners that fetch links must not use
    it up); pressing it clears the account's throttle."""
    form = ConfirmForm()
    try:
        user = services.link_user(token, TokenPurpose.UNLOCK)
        if form.validate_on_submit():
            services.unlock(token)
            flash(_("Sign-in is unlocked. Sign in now."), "success")
            return redirect(url_for("accounts.login"))
    except services.InvalidLink as exc:
        return render_template("accounts/bad_link.html", message=exc.message), 404
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/unlock.html", form=form, email=user.email), status
