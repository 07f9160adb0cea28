"""Login, logout and password change."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from portal.accounts import services
from portal.accounts.forms import LoginForm, PasswordChangeForm

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
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
            minutes = max(1, round(exc.retry_after.total_seconds() / 60))
            form.form_errors.append(
                _("%(message)s Wait about %(n)d minutes.", message=exc.message, n=minutes)
            )
            status = 429
        except services.InvalidCredentials as exc:
            form.form_errors.append(exc.message)
            status = 401
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
    elif form.is_submitted():
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> BaseResponse:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Response | BaseResponse | tuple[str, int] | str:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.AccountError as exc:
            form[exc.field or "current_password"].errors.append(exc.message)
        else:
            flash(_("Your password was changed."), "success")
            return redirect(url_for("core.index"))
    status = 400 if form.errors else 200
    return render_template("accounts/password.html", form=form), status
