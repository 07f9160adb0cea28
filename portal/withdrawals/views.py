"""The distributor's withdrawals: request (with the fee shown live), payout accounts,
history whose open rows refresh themselves."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal import confirm
from portal.accounts.access import distributor_blueprint
from portal.distributors.current import can_promote, current_distributor
from portal.distributors.models import Distributor
from portal.errors import NotFound, ServiceError
from portal.formatting import money
from portal.forms import attach_error
from portal.pagination import paginate
from portal.rendering import is_htmx, render
from portal.withdrawals import credit, services, statements
from portal.withdrawals.forms import FeeForm, PayoutAccountForm, WithdrawalForm
from portal.withdrawals.labels import METHOD_LABELS, STATE_LABELS
from portal.withdrawals.models import PayoutAccount, PayoutMethod, Statement, WithdrawalState

me = distributor_blueprint("me_withdrawals", __name__)

OPEN_STATES = (WithdrawalState.REQUESTED, WithdrawalState.APPROVED)
_CREDIT = (credit.TakeAs.CREDIT.value, credit.TakeAs.SPLIT.value)


@me.app_template_filter("payout_account")
def payout_account_label(account: PayoutAccount) -> str:
    """Method and masked account, the only way pages show an account."""
    return services.label(account)


@me.context_processor
def labels() -> dict[str, Any]:
    return {
        "withdrawal_states": STATE_LABELS,
        "payout_methods": METHOD_LABELS,
        "open_states": OPEN_STATES,
    }


def _active() -> Distributor:
    """The signed-in distributor, for changes: suspended ones only read (403)."""
    distributor = current_distributor()
    if not can_promote(distributor):
        abort(403)
    return distributor


# --- requests and history -------------------------------------------------------------


def _live_quote(distributor_id: int, form: FeeForm | WithdrawalForm) -> dict[str, Any]:
    """The quote under the amount: the distributor's limits, and for the amount typed so
    far the fee and what arrives — or why it cannot be requested."""
    allowed = services.limits(distributor_id)
    result, error, taken = None, None, None
    typed = bool(form.amount.raw_data and form.amount.raw_data[0].strip())
    if typed and form.amount.errors:
        error = " ".join(str(e) for e in form.amount.errors)
    elif typed and form.amount.data is not None:
        take_as = credit.TakeAs(form.take_as.data) if form.take_as.data in _CREDIT else None
        try:
            if take_as is not None and credit.offered():
                taken = credit.quote(take_as, form.amount.data, form.credit_amount.data)
            else:
                result = services.quote(form.amount.data, allowed.currency)
            services.check_amount(form.amount.data, allowed)
        except ServiceError as exc:
            result, taken, error = None, None, exc.message
    return {"quote": result, "credit_quote": taken, "error": error, "limits": allowed}


def _page(distributor: Distributor, form: WithdrawalForm | None = None) -> dict[str, Any]:
    accounts = services.accounts(distributor.id)
    form = form or WithdrawalForm(accounts, formdata=None)
    page = paginate(services.history(distributor.id))
    return {
        "distributor": distributor,
        "can_withdraw": can_promote(distributor),
        "accounts": accounts,
        "form": form,
        "terms": services.terms(),
        "balance": services.balance(distributor.id),
        "page": page,
        "statement_numbers": statements.numbers_for([w.id for w in page.items]),
        **_live_quote(distributor.id, form),
        **_credit(distributor.id),
    }


def _credit(distributor_id: int) -> dict[str, Any]:
    """Store credit on the page: whether it is offered, its bonus, the live coupons."""
    return {
        "credit_offered": credit.offered(),
        "credit_bonus": credit.bonus_percent(),
        "credits": credit.of(distributor_id),
    }


@me.get("/withdrawals")
def index() -> Response:
    """The page (``?amount=`` fills the amount: "withdraw all" without JavaScript); the
    history table alone for the pager's swaps."""
    distributor = current_distributor()
    form = None
    if "amount" in request.args:
        form = WithdrawalForm(services.accounts(distributor.id), formdata=request.args)
        form.amount.validate(form)
    return render("me/withdrawals.html", "me/_withdrawal_history.html", **_page(distributor, form))


@me.post("/withdrawals")
def create() -> Response:
    distributor = _active()
    form = WithdrawalForm(services.accounts(distributor.id))
    if form.validate_on_submit():
        try:
            made = credit.request(
                distributor.id,
                form.amount.data,
                credit.TakeAs(form.take_as.data),
                form.credit_amount.data,
                form.payout_account_id.data,
            )
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            message = _(
                "Withdrawal of %(amount)s requested.",
                amount=money(sum(w.amount for w in made), made[0].currency),
            )
            if not is_htmx():
                flash(message, "success")
                return redirect(url_for(".index"))
            # A fresh form, with the new row, balance and message swapped in out of band.
            return render(
                "me/_withdrawal_created.html",
                "me/_withdrawal_created.html",
                created=message,
                **_page(distributor),
            )
    return render(
        "me/withdrawals.html",
        "me/_withdrawal_form.html",
        http_status=400,
        **_page(distributor, form),
    )


@me.get("/withdrawals/fee")
def fee() -> Response:
    """The live quote for the amount typed so far (the request form asks as you type):
    available, minimum and maximum, then the fee and net or what is wrong."""
    distributor = current_distributor()
    form = FeeForm(formdata=request.args)
    form.validate()
    return render(
        "me/withdrawal_fee.html",
        "me/_withdrawal_fee.html",
        form=form,
        terms=services.terms(),
        **_live_quote(distributor.id, form),
    )


@me.get("/withdrawals/<int:withdrawal_id>")
def detail(withdrawal_id: int) -> Response:
    """The detail page; for the history's polling, the row — or 204 while the state the
    page shows (``?state=``) is still current."""
    distributor = current_distributor()
    withdrawal = services.withdrawal_for(distributor.id, withdrawal_id)
    if withdrawal is None:
        abort(404)
    shown = request.args.get("state")
    if is_htmx() and shown == withdrawal.state.value:
        response = Response(status=204)
        response.vary.add("HX-Request")
        return response
    return render(
        "me/withdrawal.html",
        "me/_withdrawal_update.html",
        w=withdrawal,
        statement_numbers=statements.numbers_for([withdrawal.id]),
        announce=shown is not None,  # the row changed under the distributor's eyes
    )


# --- payout accounts ------------------------------------------------------------------


def _accounts_page(distributor: Distributor, form: PayoutAccountForm) -> dict[str, Any]:
    return {
        "distributor": distributor,
        "can_add": can_promote(distributor),
        "accounts": services.accounts(distributor.id),
        "form": form,
    }


@me.get("/withdrawals/accounts")
def accounts() -> Response:
    """The list and the add form; ``?method=`` picks the method (the form re-renders for
    it when the method changes)."""
    distributor = current_distributor()
    form = PayoutAccountForm(formdata=request.args or None)
    return render(
        "me/payout_accounts.html",
        "me/_payout_account_form.html",
        **_accounts_page(distributor, form),
    )


@me.post("/withdrawals/accounts")
def add_account() -> Response:
    distributor = _active()
    form = PayoutAccountForm()
    if form.validate_on_submit():
        try:
            account = services.add_account(
                distributor.id,
                PayoutMethod(form.method.data),
                form.holder_name.data,
                form.account.data,
                form.bank_name.data,
            )
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            message = _("Payout account %(account)s added.", account=services.label(account))
            if not is_htmx():
                flash(message, "success")
                return redirect(url_for(".accounts"))
            return render(
                "me/_payout_account_added.html",
                "me/_payout_account_added.html",
                added=message,
                **_accounts_page(distributor, PayoutAccountForm(formdata=None)),
            )
    return render(
        "me/payout_accounts.html",
        "me/_payout_account_form.html",
        http_status=400,
        **_accounts_page(distributor, form),
    )


def _remove_question(account: PayoutAccount) -> confirm.Confirmation:
    return confirm.Confirmation(
        question=_("Remove the payout account %(account)s?", account=services.label(account)),
        button=_("Remove the account"),
        back=url_for(".accounts"),
        facts=[(_("Account holder's name"), account.holder_name)],
        consequences=[
            _("New withdrawals cannot be paid to it; you can add it again later."),
            _("Withdrawals you already requested to it are still paid there."),
        ],
    )


@me.post("/withdrawals/accounts/<int:account_id>/remove")
def remove_account(account_id: int) -> Response:
    distributor = _active()
    try:
        if not confirm.confirmed():
            return confirm.ask(_remove_question(services.account_for(distributor.id, account_id)))
        account = services.remove_account(distributor.id, account_id)
    except NotFound:
        abort(404)
    message = _("Payout account %(account)s removed.", account=services.label(account))
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for(".accounts"))
    return render(
        "me/_payout_account_list.html",
        "me/_payout_account_list.html",
        removed=message,
        **_accounts_page(distributor, PayoutAccountForm(formdata=None)),
    )


@me.get("/statements/<int:number>.pdf")
def statement(number: int) -> Response:
    """One of the distributor's own statements (anyone else's: 404)."""
    found = statements.by_number(number, current_distributor().id)
    if found is None:
        abort(404)
    return _pdf(found)


def _pdf(found: Statement) -> Response:
    return Response(
        statements.pdf(found),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{statements.filename(found)}"'},
    )
