"""The ops side of withdrawals: the queue, decisions per row and in batches, payout files."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload
from wtforms import StringField
from wtforms.validators import Length, Optional

from portal import confirm
from portal.accounts.access import staff_blueprint
from portal.distributors.models import Distributor
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.formatting import money
from portal.forms import Form, error_text, like_escape, strip
from portal.pagination import paginate
from portal.rendering import decision_answer, render
from portal.settings import services as settings
from portal.withdrawals import credit, payouts, paypal, services, statements
from portal.withdrawals.labels import METHOD_LABELS, PAYPAL_STATUS_LABELS, STATE_LABELS
from portal.withdrawals.models import (
    PayoutAccount,
    PayoutMethod,
    PayPalBatchState,
    Withdrawal,
    WithdrawalState,
)

admin = staff_blueprint("admin_withdrawals", __name__)


class DecisionForm(Form):
    """CSRF plus the free text a decision may need (a reason, a payment reference)."""

    note = StringField(validators=[Optional(), Length(max=500)], filters=[strip])


def _queue(state: str, method: str, search: str) -> Select[tuple[Withdrawal]]:
    query = (
        select(Withdrawal)
        .options(selectinload(Withdrawal.payout_account))
        .order_by(Withdrawal.requested_at, Withdrawal.id)
    )
    if state in WithdrawalState.__members__.values():
        query = query.where(Withdrawal.state == WithdrawalState(state))
    if method in PayoutMethod.__members__.values():
        query = query.where(
            Withdrawal.payout_account_id.in_(
                select(PayoutAccount.id).where(PayoutAccount.method == PayoutMethod(method))
            )
        )
    if search:
        query = query.where(
            Withdrawal.distributor_id.in_(
                select(Distributor.id).where(
                    or_(
                        Distributor.code == search.upper(),
                        Distributor.display_name.ilike(f"%{like_escape(search)}%", escape="\\"),
                    )
                )
            )
        )
    return query


def _context(withdrawals: list[Withdrawal]) -> dict[str, Any]:
    return {
        "distributors": payouts.distributor_names(withdrawals),
        "statement_numbers": statements.numbers_for([w.id for w in withdrawals]),
        "credit_errors": credit.errors_for([w.id for w in withdrawals]),
        "withdrawal_states": STATE_LABELS,
        "payout_methods": METHOD_LABELS,
        "providers": payouts.PROVIDERS,
        "form": DecisionForm(formdata=None),
        "paypal_ready": paypal.PROVIDER.ready(),
        "paypal_items": paypal.items_for([w.id for w in withdrawals]),
        "paypal_status": paypal.item_status,
        "paypal_labels": PAYPAL_STATUS_LABELS,
    }


@admin.get("/withdrawals")
def queue() -> Response:
    state = request.args.get("state", WithdrawalState.REQUESTED.value)
    method = request.args.get("method", "")
    search = (request.args.get("q") or "").strip()[:80]
    page = paginate(_queue(state, method, search))
    return render(
        "admin/withdrawals.html",
        "admin/_withdrawal_table.html",
        page=page,
        state=state,
        method=method,
        q=search,
        **_context(page.items),
    )


# Which states each decision starts from (anything else is refused by the service).
_SOURCES = {
    "approve": (WithdrawalState.REQUESTED,),
    "reject": (WithdrawalState.REQUESTED, WithdrawalState.APPROVED),
    "pay": (WithdrawalState.APPROVED,),
    "reverse": (WithdrawalState.PAID,),  # store credit only (portal.withdrawals.credit)
}


def _consequence(action: str, amount: str) -> str:
    if action == "approve":
        return _("It can then be paid and appears in the payout files.")
    if action == "reject":
        return _(
            "%(amount)s goes back to the distributor's available balance; they see the reason.",
            amount=amount,
        )
    if action == "reverse":
        return _(
            "The coupon is deleted in the shop; what is left of it goes back to the "
            "distributor's available balance, without the bonus. What orders spent stays spent."
        )
    return _(
        "%(amount)s is recorded as paid with this reference and the distributor is told; "
        "this cannot be undone.",
        amount=amount,
    )


def _decision_question(
    withdrawal_id: int, action: str, note: str | None
) -> confirm.Confirmation | None:
    """What the confirm step asks before ``action``; ``None`` when the withdrawal is not
    in a state for it (the service then says why). Checks the note first."""
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None:
        raise NotFound(_("No such withdrawal."))
    if withdrawal.state not in _SOURCES[action]:
        return None
    distributor = db.session.get(Distributor, withdrawal.distributor_id)
    amount = money(withdrawal.amount, withdrawal.currency)
    facts = [
        (_("Distributor"), f"{distributor.display_name} ({distributor.code})"),
        (_("Amount"), amount),
        (_("Sends"), money(withdrawal.net, withdrawal.currency)),
        (
            _("Pay to"),
            f"{services.label(withdrawal.payout_account)} · "
            f"{withdrawal.payout_account.holder_name}",
        ),
    ]
    if action in ("reject", "reverse"):
        facts.append((_("Reason (shown to the distributor)"), services.clean_reason(note)))
    elif action == "pay":
        facts.append((_("Payment reference"), services.clean_reference(note)))
    questions = {
        "approve": _("Approve withdrawal #%(id)d?", id=withdrawal.id),
        "reject": _("Reject withdrawal #%(id)d?", id=withdrawal.id),
        "pay": _("Mark withdrawal #%(id)d paid?", id=withdrawal.id),
        "reverse": _("Take back the store credit of withdrawal #%(id)d?", id=withdrawal.id),
    }
    buttons = {
        "approve": _("Approve"),
        "reject": _("Reject"),
        "pay": _("Mark paid"),
        "reverse": _("Take back the credit"),
    }
    return confirm.Confirmation(
        question=questions[action],
        button=buttons[action],
        back=url_for("admin_withdrawals.queue"),
        facts=facts,
        consequences=[_consequence(action, amount)],
    )


def _decide(withdrawal_id: int, action: str) -> Response:
    form = DecisionForm()
    error = None
    if not form.validate():
        error = error_text(form)
    else:
        try:
            if not confirm.confirmed():
                question = _decision_question(withdrawal_id, action, form.note.data)
                if question is not None:
                    return confirm.ask(question)
            if action == "approve":
                services.approve(withdrawal_id, current_user)
            elif action == "reject":
                services.reject(withdrawal_id, current_user, form.note.data or "")
            elif action == "reverse":
                credit.reverse(withdrawal_id, current_user, form.note.data or "")
            else:
                services.pay(withdrawal_id, current_user, form.note.data or "")
        except ServiceError as exc:
            error = exc
    return _row_answer(withdrawal_id, error)


def _row_answer(
    withdrawal_id: int, error: ServiceError | str | None, done: str | None = None
) -> Response:
    """The withdrawal's row for htmx (409 with the error), else a flash and a redirect."""
    withdrawal = db.get_or_404(
        Withdrawal, withdrawal_id, options=[selectinload(Withdrawal.payout_account)]
    )
    db.session.refresh(withdrawal)
    return decision_answer(
        error,
        "admin/_withdrawal_row.html",
        request.referrer or url_for("admin_withdrawals.queue"),
        done
        or _(
            "Withdrawal #%(id)d: %(state)s.", id=withdrawal.id, state=STATE_LABELS[withdrawal.state]
        ),
        w=withdrawal,
        **_context([withdrawal]),
    )


@admin.post("/withdrawals/<int:withdrawal_id>/approve")
def approve(withdrawal_id: int) -> Response:
    return _decide(withdrawal_id, "approve")


@admin.post("/withdrawals/<int:withdrawal_id>/reject")
def reject(withdrawal_id: int) -> Response:
    return _decide(withdrawal_id, "reject")


@admin.post("/withdrawals/<int:withdrawal_id>/pay")
def pay(withdrawal_id: int) -> Response:
    return _decide(withdrawal_id, "pay")


def _paypal_question(ids: list[int]) -> confirm.Confirmation:
    chosen = paypal.payable(ids)
    currency = settings.get("currency")
    total = money(sum((w.net for w in chosen), Decimal(0)), currency)
    facts = [
        (_("Selected"), str(len(ids))),
        (_("Sent to PayPal"), str(len(chosen))),
        (_("Total sent"), total),
        (_("PayPal"), _("Sandbox (test money)") if settings.get("paypal_sandbox") else _("Live")),
    ]
    return confirm.Confirmation(
        question=ngettext(
            "Send %(num)d withdrawal with PayPal?",
            "Send %(num)d withdrawals with PayPal?",
            len(chosen),
        ),
        button=_("Send with PayPal"),
        back=url_for("admin_withdrawals.queue"),
        facts=facts,
        consequences=[
            _(
                "PayPal pays %(amount)s to the distributors' PayPal accounts. Each withdrawal "
                "is marked paid when PayPal reports it paid, or goes back to the distributor's "
                "balance with PayPal's reason.",
                amount=total,
            )
        ],
    )


def _sent_messages(result: paypal.SendResult) -> tuple[list[str], list[str]]:
    """(what went well, what did not) for the person who sent."""
    done, failed = [], []
    for batch in result.batches:
        n = len(batch.items)
        if batch.state is PayPalBatchState.REFUSED:
            failed.append(_("PayPal refused the batch: %(error)s", error=batch.error or "—"))
        elif batch.state is PayPalBatchState.UNKNOWN:
            failed.append(
                _(
                    "PayPal has not answered yet (%(error)s). The batch is sent again "
                    "automatically with the same id, so nothing is paid twice.",
                    error=batch.error or "—",
                )
            )
        elif batch.id == result.created:
            done.append(
                ngettext(
                    "%(num)d withdrawal sent with PayPal.",
                    "%(num)d withdrawals sent with PayPal.",
                    n,
                )
            )
        else:
            done.append(
                ngettext(
                    "%(num)d withdrawal was already sent with PayPal; its answer decides.",
                    "%(num)d withdrawals were already sent with PayPal; their answers decide.",
                    n,
                )
            )
    if result.skipped:
        failed.append(
            ngettext(
                "%(num)d selected withdrawal is not an approved PayPal one and is skipped.",
                "%(num)d selected withdrawals are not approved PayPal ones and are skipped.",
                result.skipped,
            )
        )
    return done, failed


@admin.post("/withdrawals/<int:withdrawal_id>/paypal")
def send_paypal(withdrawal_id: int) -> Response:
    """One approved PayPal withdrawal, sent through the PayPal Payouts API."""
    form = DecisionForm()
    error = done = None
    if not form.validate():
        error = error_text(form)
    else:
        try:
            if not confirm.confirmed() and paypal.payable([withdrawal_id]):
                return confirm.ask(_paypal_question([withdrawal_id]))
            result = paypal.PROVIDER.send([withdrawal_id], current_user)
            done_messages, failed = _sent_messages(result)
            error = " ".join(failed) or None
            done = " ".join(done_messages) or None
        except ServiceError as exc:
            error = exc
    return _row_answer(withdrawal_id, error, done)


@admin.post("/withdrawals/<int:withdrawal_id>/reverse")
def reverse(withdrawal_id: int) -> Response:
    """Take back a paid store-credit withdrawal (what is left of its coupon)."""
    return _decide(withdrawal_id, "reverse")


def _batch_question(action: str, ids: list[int], reference: str) -> confirm.Confirmation:
    chosen = list(
        db.session.scalars(
            select(Withdrawal).where(Withdrawal.id.in_(ids), Withdrawal.state.in_(_SOURCES[action]))
        )
    )
    currency = settings.get("currency")
    total = money(sum((w.amount for w in chosen), Decimal(0)), currency)
    facts = [
        (_("Selected"), str(len(ids))),
        (_("Can be done"), str(len(chosen))),
        (_("Total"), total),
    ]
    if action == "pay":
        facts.append((_("Payment reference"), reference))
    skipped = len(ids) - len(chosen)
    consequences = [_consequence(action, total)]
    if skipped:
        consequences.append(
            ngettext(
                "%(num)d selected withdrawal is in another state and is skipped.",
                "%(num)d selected withdrawals are in another state and are skipped.",
                skipped,
            )
        )
    return confirm.Confirmation(
        question=ngettext(
            "Approve %(num)d withdrawal?",
            "Approve %(num)d withdrawals?",
            len(chosen),
        )
        if action == "approve"
        else ngettext(
            "Mark %(num)d withdrawal paid?",
            "Mark %(num)d withdrawals paid?",
            len(chosen),
        ),
        button=_("Approve") if action == "approve" else _("Mark paid"),
        back=url_for("admin_withdrawals.queue"),
        facts=facts,
        consequences=consequences,
    )


@admin.post("/withdrawals/batch")
def batch() -> Response:
    """The selected rows: approve, mark paid with one reference, or download a payout
    file. Each withdrawal is its own transaction; one refusal does not stop the rest."""
    form = DecisionForm()
    if not form.validate():
        abort(400)
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()][:500]
    action = request.form.get("action", "")
    if not ids:
        flash(_("Select at least one withdrawal."), "error")
        return redirect(request.referrer or url_for("admin_withdrawals.queue"))
    if action.startswith("export:"):
        try:
            result = payouts.export(action.removeprefix("export:"), ids, current_user)
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(request.referrer or url_for("admin_withdrawals.queue"))
        return Response(
            result.content,
            mimetype=result.mimetype,
            headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
        )
    if action == "paypal":
        if not confirm.confirmed() and paypal.payable(ids):
            return confirm.ask(_paypal_question(ids))
        try:
            done_messages, failed = _sent_messages(paypal.PROVIDER.send(ids, current_user))
        except ServiceError as exc:
            done_messages, failed = [], [exc.message]
        for message in done_messages:
            flash(message, "success")
        for message in failed:
            flash(message, "error")
        return redirect(request.referrer or url_for("admin_withdrawals.queue"))
    if action not in ("approve", "pay"):
        abort(400)
    if action == "pay" and not form.note.data:
        flash(_("Enter the payment's reference to mark withdrawals paid."), "error")
        return redirect(request.referrer or url_for("admin_withdrawals.queue"))
    if not confirm.confirmed():
        return confirm.ask(_batch_question(action, ids, form.note.data or ""))
    done, refused = 0, []
    for withdrawal_id in ids:
        try:
            if action == "approve":
                services.approve(withdrawal_id, current_user)
            else:
                services.pay(withdrawal_id, current_user, form.note.data or "")
            done += 1
        except ServiceError as exc:
            refused.append(f"#{withdrawal_id}: {exc.message}")
    flash(_("%(num)d withdrawals updated.", num=done), "success")
    for message in refused:
        flash(message, "error")
    return redirect(request.referrer or url_for("admin_withdrawals.queue"))


@admin.get("/statements/<int:number>.pdf")
def statement(number: int) -> Response:
    found = statements.by_number(number)
    if found is None:
        abort(404)
    return Response(
        statements.pdf(found),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{statements.filename(found)}"'},
    )
