"""Withdrawals and payout accounts: the rules.

Money moves at distributor level in the ledger: a request moves its amount from
``available`` into ``withdrawing``; paying moves it on to ``paid`` (and marks commissions
paid, oldest first); rejecting moves it back to ``available``. The fee is recorded on the
withdrawal only: the whole amount leaves the balance, ``net`` is what is sent.

Every step takes the distributor's lock first (:func:`_lock`), so two requests — or a
request and a decision — for one distributor never interleave and cannot overdraw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions import services as commissions
from portal.distributors.models import Distributor, DistributorStatus
from portal.errors import InvalidTransition, NotFound, ServiceError
from portal.extensions import db
from portal.formatting import money
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind
from portal.ledger.services import lock_distributor
from portal.money import minor_unit_exponent, round_money
from portal.notifications import services as notifications
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals import signals, statements
from portal.withdrawals.labels import METHOD_LABELS, STATE_LABELS
from portal.withdrawals.models import (
    PayoutAccount,
    PayoutMethod,
    PayPalItem,
    Withdrawal,
    WithdrawalState,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_NOTE = 500  # rejection reasons
MAX_AMOUNT = Decimal(10) ** 12  # well inside the Money column


class WithdrawalError(ServiceError):
    """A refused payout account, request or decision. No such withdrawal or payout account
    (for this distributor) is :class:`~portal.errors.NotFound`; a withdrawal not in a
    state that allows the step is :class:`~portal.errors.InvalidTransition`."""


# --- payout accounts ------------------------------------------------------------------

_PHONE = re.compile(r"\+?\d{6,15}")
_DOMESTIC_PHONE = re.compile(r"\d{6,15}")
# What mailbox providers and PayPal actually issue: a letter or digit first, then letters,
# digits and . _ % + -. RFC 5321 allows more ("=1+2@example.com"), but such an address
# is a spreadsheet formula in a payout file, and no real wallet is registered to one.
_EMAIL_LOCAL_PART = re.compile(r"[^\W_][\w.%+-]*")
_WECHAT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{5,19}")  # WeChat's own rule
# What WeChat Pay transfers pay: the user's id under the merchant's app (28 characters).
OPENID = re.compile(r"[A-Za-z0-9_-]{28}")
_ACCOUNT_NUMBER = re.compile(r"\d{6,34}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_SEPARATORS = re.compile(r"[\s-]+")


def _iban_ok(iban: str) -> bool:
    """ISO 13616 check digits: the rearranged number modulo 97 is 1."""
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def _email(value: str) -> str | None:
    try:
        email = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    return email if _EMAIL_LOCAL_PART.fullmatch(email.rpartition("@")[0]) else None


def normalise_account(method: PayoutMethod, value: str) -> str:
    """The account as stored for ``method``, or :class:`WithdrawalError` on ``account``.

    Bank: an IBAN (check digits verified) or a plain account number of 6–34 digits;
    PayPal: an email or the domestic mobile number the account uses (digits only: the
    payout file takes it as typed, and a leading ``+`` would read as a formula); Alipay:
    a phone number or an email; WeChat Pay: a WeChat ID (6–20 letters, digits, ``_`` or
    ``-``, starting with a letter). Emails start with a letter or digit (see
    ``_EMAIL_LOCAL_PART``).
    """
    value = value.strip()
    if method is PayoutMethod.BANK:
        compact = _SEPARATORS.sub("", value).upper()
        if _IBAN.fullmatch(compact):
            if _iban_ok(compact):
                return compact
            raise WithdrawalError(_("This IBAN's check digits do not match."), "account")
        if _ACCOUNT_NUMBER.fullmatch(compact):
            return compact
        raise WithdrawalError(_("Enter an IBAN or an account number (digits only)."), "account")
    if method is PayoutMethod.PAYPAL:
        phone = _SEPARATORS.sub("", value)
        if _DOMESTIC_PHONE.fullmatch(phone):
            return phone
        email = _email(value)
        if email is None:
            raise WithdrawalError(
                _(
                    "Enter the email address of your PayPal account, or its mobile number "
                    "(digits only)."
                ),
                "account",
            )
        return email
    if method is PayoutMethod.ALIPAY:
        phone = _SEPARATORS.sub("", value)
        if _PHONE.fullmatch(phone):
            return phone
        email = _email(value)
        if email is None:
            raise WithdrawalError(
                _("Enter the phone number or email of your Alipay account."), "account"
            )
        return email
    if not (_WECHAT_ID.fullmatch(value) or OPENID.fullmatch(value)):
        raise WithdrawalError(
            _("A WeChat ID has 6–20 letters, digits, _ or -, and starts with a letter."),
            "account",
        )
    return value


def mask(account: str) -> str:
    """How an account shows on every page: ``j•••@example.com``, ``•••• 6789``.

    Short values (under 8 characters) show only their last two.
    """
    if "@" in account:
        local, _at, domain = account.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    shown = 4 if len(account) >= 8 else 2
    return f"•••• {account[-shown:]}"


def label(account: PayoutAccount) -> str:
    """Method, bank and masked account: "Bank transfer · ICBC · •••• 6789"."""
    parts = [str(METHOD_LABELS[account.method]), account.bank_name, mask(account.account)]
    return " · ".join(p for p in parts if p)


def accounts(distributor_id: int) -> list[PayoutAccount]:
    """The distributor's payout accounts that are not removed, oldest first."""
    return list(
        db.session.scalars(
            select(PayoutAccount)
            .where(
                PayoutAccount.distributor_id == distributor_id,
                PayoutAccount.removed_at.is_(None),
                PayoutAccount.method != PayoutMethod.STORE_CREDIT,  # chosen on the form
            )
            .order_by(PayoutAccount.id)
        )
    )


def add_account(
    distributor_id: int,
    method: PayoutMethod,
    holder_name: str,
    account: str,
    bank_name: str | None = None,
) -> PayoutAccount:
    """Validate per method and store a payout account. Commits."""
    holder_name = holder_name.strip()
    if not holder_name:
        raise WithdrawalError(_("Enter the account holder's name."), "holder_name")
    bank_name = (bank_name or "").strip() or None
    if method is PayoutMethod.BANK and bank_name is None:
        raise WithdrawalError(_("Enter the name of the bank."), "bank_name")
    stored = normalise_account(method, account)
    if any(a.method is method and a.account == stored for a in accounts(distributor_id)):
        raise WithdrawalError(_("You have already added this account."), "account")
    row = PayoutAccount(
        distributor_id=distributor_id,
        method=method,
        holder_name=holder_name,
        account=stored,
        bank_name=bank_name if method is PayoutMethod.BANK else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def account_for(distributor_id: int, account_id: int) -> PayoutAccount:
    """The distributor's own payout account that is not removed, else :class:`NotFound`."""
    account = db.session.get(PayoutAccount, account_id)
    if account is None or account.distributor_id != distributor_id or account.removed_at:
        raise NotFound(_("No such payout account."))
    return account


def remove_account(distributor_id: int, account_id: int) -> PayoutAccount:
    """Soft-remove: the row stays for the withdrawals that name it, new ones can't. Commits."""
    account = account_for(distributor_id, account_id)
    account.removed_at = utcnow()
    db.session.commit()
    return account


# --- amounts and fees -----------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    amount: Decimal  # leaves the available balance
    fee: Decimal
    net: Decimal  # what is sent
    currency: str


@dataclass(frozen=True)
class Terms:
    """What the request form tells the distributor up front."""

    minimum: Decimal
    fee_percent: Decimal
    fee_fixed: Decimal
    currency: str


def terms() -> Terms:
    return Terms(
        settings.get("min_withdrawal"),
        settings.get("withdrawal_fee_percent"),
        settings.get("withdrawal_fee_fixed"),
        settings.get("currency"),
    )


def fee_for(amount: Decimal, currency: str) -> Decimal:
    """``withdrawal_fee_percent`` % of the amount plus ``withdrawal_fee_fixed``, rounded
    once to the currency's minor unit (ROUND_HALF_UP)."""
    percent = settings.get("withdrawal_fee_percent")
    fixed = settings.get("withdrawal_fee_fixed")
    return round_money(amount * percent / HUNDRED + fixed, currency)


def quote(amount: Decimal, currency: str, with_fee: bool = True) -> Quote:
    """Fee and net for ``amount``; :class:`WithdrawalError` on ``amount`` when the amount
    is not a positive number in the currency's minor units or the fee would eat it.
    ``with_fee=False``: no fee (store credit)."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise WithdrawalError(_("Enter an amount, e.g. 100."), "amount")
    if amount <= ZERO:
        raise WithdrawalError(_("Enter an amount above zero."), "amount")
    if amount >= MAX_AMOUNT:
        raise WithdrawalError(_("That amount is too large."), "amount")
    rounded = round_money(amount, currency)
    if rounded != amount:
        places = minor_unit_exponent(currency)
        if places == 0:
            message = _("Amounts in %(currency)s have no decimals.", currency=currency)
        else:
            message = _(
                "Use at most %(places)d decimals for %(currency)s.",
                places=places,
                currency=currency,
            )
        raise WithdrawalError(message, "amount")
    amount = rounded  # the same value, in the currency's minor units: 100.5 → 100.50
    fee = fee_for(amount, currency) if with_fee else ZERO
    if amount - fee <= ZERO:
        raise WithdrawalError(
            _("The fee (%(fee)s) takes the whole amount.", fee=money(fee, currency)),
            "amount",
        )
    return Quote(amount, fee, amount - fee, currency)


# --- balances and history -------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    available: Decimal  # negative after a refund of paid commission
    withdrawing: Decimal  # requested or approved, not yet paid
    paid: Decimal


def balance(distributor_id: int) -> Balance:
    sums = ledger.balances(distributor_id)
    return Balance(sums[Bucket.AVAILABLE], sums[Bucket.WITHDRAWING], sums[Bucket.PAID])


def history(distributor_id: int) -> Select[tuple[Withdrawal]]:
    """The distributor's withdrawals, newest first, with their accounts (for paginate)."""
    return (
        select(Withdrawal)
        .options(selectinload(Withdrawal.payout_account))
        .where(Withdrawal.distributor_id == distributor_id)
        .order_by(Withdrawal.requested_at.desc(), Withdrawal.id.desc())
    )


def withdrawal_for(distributor_id: int, withdrawal_id: int) -> Withdrawal | None:
    """The distributor's own withdrawal; ``None`` for anyone else's."""
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.distributor_id != distributor_id:
        return None
    return withdrawal


# --- request and decisions ------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one distributor may request right now (the live quote shows it as they type)."""

    available: Decimal
    minimum: Decimal
    maximum: Decimal  # the available balance, capped by what the daily limit leaves today
    daily_room: Decimal | None  # None: no daily limit
    currency: str

    @property
    def can_withdraw(self) -> bool:
        return self.maximum > ZERO and self.maximum >= self.minimum


def _daily_room(distributor_id: int) -> Decimal | None:
    limit = settings.get("withdrawal_daily_limit")
    if limit <= ZERO:
        return None
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    requested = db.session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(
            Withdrawal.distributor_id == distributor_id,
            Withdrawal.requested_at >= today,
            Withdrawal.state != WithdrawalState.REJECTED,
        )
    )
    return max(limit - Decimal(requested), ZERO)


def limits(distributor_id: int) -> Limits:
    currency = settings.get("currency")
    available = ledger.balances(distributor_id)[Bucket.AVAILABLE]
    room = _daily_room(distributor_id)
    ceiling = available if room is None else min(available, room)
    # Rounded down: "withdraw all" must never ask for a fraction more than there is.
    maximum = max(round_money(ceiling, currency, ROUND_DOWN), ZERO)
    return Limits(available, settings.get("min_withdrawal"), maximum, room, currency)


def check_amount(amount: Decimal, allowed: Limits) -> None:
    """The minimum, the daily limit and the available balance; :class:`WithdrawalError`
    on ``amount``."""
    currency = allowed.currency
    if amount < allowed.minimum:
        raise WithdrawalError(
            _("The minimum withdrawal is %(minimum)s.", minimum=money(allowed.minimum, currency)),
            "amount",
        )
    if allowed.daily_room is not None and amount > allowed.daily_room:
        raise WithdrawalError(
            _(
                "The daily limit is %(limit)s; you can still request %(room)s today.",
                limit=money(settings.get("withdrawal_daily_limit"), currency),
                room=money(allowed.daily_room, currency),
            ),
            "amount",
        )
    if amount > allowed.available:
        if allowed.available <= ZERO:
            message = _("You have nothing available to withdraw yet.")
        else:
            message = _(
                "You can withdraw at most %(available)s.",
                available=money(allowed.available, currency),
            )
        raise WithdrawalError(message, "amount")


def _checked_request(distributor_id: int, amount: Decimal, payout_account_id: int) -> Quote:
    """Every rule of a request, read under the lock; raises :class:`WithdrawalError`."""
    status = db.session.scalar(select(Distributor.status).where(Distributor.id == distributor_id))
    if status is None:
        raise NotFound(_("No such distributor."))
    if status is not DistributorStatus.ACTIVE:
        raise WithdrawalError(_("Only active distributors can withdraw."))
    result = quote(amount, settings.get("currency"))
    account = db.session.get(PayoutAccount, payout_account_id)
    if account is None or account.distributor_id != distributor_id or account.removed_at:
        raise WithdrawalError(_("Choose one of your payout accounts."), "payout_account_id")
    check_amount(amount, limits(distributor_id))
    return result


def request_withdrawal(distributor_id: int, amount: Decimal, payout_account_id: int) -> Withdrawal:
    """Debit the available balance into ``withdrawing`` and record the request. Commits.

    Refusals raise :class:`WithdrawalError` and write nothing.
    """
    lock_distributor(distributor_id)
    try:
        result = _checked_request(distributor_id, amount, payout_account_id)
    except ServiceError:
        db.session.rollback()
        raise
    withdrawal = open_request(distributor_id, payout_account_id, result)
    db.session.commit()
    if withdrawal.state is WithdrawalState.APPROVED:
        signals.decided.send(withdrawal.id)
    return withdrawal


def open_request(distributor_id: int, payout_account_id: int, result: Quote) -> Withdrawal:
    """Record a checked request (auto-approved below the threshold) and move its amount
    into ``withdrawing``. The caller holds the distributor's lock, has checked the rules
    and commits (then sends :data:`signals.decided` for an approved one)."""
    withdrawal = Withdrawal(
        distributor_id=distributor_id,
        payout_account_id=payout_account_id,
        state=WithdrawalState.REQUESTED,
        currency=result.currency,
        amount=result.amount,
        fee=result.fee,
        net=result.net,
        requested_at=utcnow(),
    )
    threshold = settings.get("withdrawal_auto_approve_below")
    if ZERO < result.amount <= threshold:
        withdrawal.state = WithdrawalState.APPROVED
        withdrawal.decided_at = withdrawal.requested_at
    db.session.add(withdrawal)
    db.session.flush()
    _move(withdrawal, Bucket.AVAILABLE, Bucket.WITHDRAWING)
    if withdrawal.state is WithdrawalState.APPROVED:
        audit.record(
            None,
            "withdrawal.auto_approve",
            "withdrawal",
            withdrawal.id,
            {"state": WithdrawalState.REQUESTED.value},
            {"state": WithdrawalState.APPROVED.value, "threshold": str(threshold)},
        )
    return withdrawal


def _move(withdrawal: Withdrawal, source: Bucket, target: Bucket) -> None:
    journal = ledger.Journal()
    journal.transfer(
        withdrawal.distributor_id,
        source,
        target,
        withdrawal.amount,
        withdrawal.currency,
        f"withdrawal:{withdrawal.id}",
        commission_id=None,
        kind=EntryKind.WITHDRAWAL,
    )
    journal.write()


_ACTIONS = {
    WithdrawalState.APPROVED: "approve",
    WithdrawalState.REJECTED: "reject",
    WithdrawalState.PAID: "pay",
    WithdrawalState.REVERSED: "reverse",
}
_AUDITED = ("reason", "reference")  # values copied into the audit entry


def _transition(
    withdrawal_id: int,
    actor: User | None,
    sources: tuple[WithdrawalState, ...],
    target: WithdrawalState,
    **values: object,
) -> Withdrawal:
    """Compare-and-set ``sources → target`` under the distributor's lock, audited. The
    caller books the ledger entries and commits."""
    distributor_id = db.session.scalar(
        select(Withdrawal.distributor_id).where(Withdrawal.id == withdrawal_id)
    )
    if distributor_id is None:
        raise NotFound(_("No such withdrawal."))
    lock_distributor(distributor_id)
    before = db.session.scalar(select(Withdrawal.state).where(Withdrawal.id == withdrawal_id))
    changed = db.session.execute(
        update(Withdrawal)
        .where(Withdrawal.id == withdrawal_id, Withdrawal.state.in_(sources))
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise InvalidTransition(
            _("Not possible: this withdrawal is %(state)s.", state=STATE_LABELS[before])
        )
    withdrawal = db.session.get(Withdrawal, withdrawal_id, populate_existing=True)
    assert withdrawal is not None
    after = {"state": target.value, **{k: str(v) for k, v in values.items() if k in _AUDITED}}
    audit.record(
        actor,
        f"withdrawal.{_ACTIONS[target]}",
        "withdrawal",
        withdrawal_id,
        {"state": before.value},
        after,
    )
    return withdrawal


def approve(withdrawal_id: int, actor: User) -> Withdrawal:
    """requested → approved, unless a refund since the request left the distributor's
    available balance negative (approving would pay out more than was earned). Commits."""
    distributor_id = db.session.scalar(
        select(Withdrawal.distributor_id).where(Withdrawal.id == withdrawal_id)
    )
    if distributor_id is not None:
        lock_distributor(distributor_id)
        available = ledger.balances(distributor_id)[Bucket.AVAILABLE]
        if available < ZERO:
            db.session.rollback()
            raise WithdrawalError(
                _(
                    "Refunds since the request left %(amount)s to claw back: reject it, "
                    "or wait until new commission covers that.",
                    amount=money(-available, settings.get("currency")),
                ),
            )
    withdrawal = _transition(
        withdrawal_id,
        actor,
        (WithdrawalState.REQUESTED,),
        WithdrawalState.APPROVED,
        decided_at=utcnow(),
        decided_by_id=actor.id,
    )
    db.session.commit()
    signals.decided.send(withdrawal.id)
    return withdrawal


def clean_reason(reason: str | None) -> str:
    """A rejection's reason as stored, or :class:`WithdrawalError` on ``reason``."""
    reason = (reason or "").strip()
    if not reason:
        raise WithdrawalError(_("Give a reason; the distributor will see it."), "reason")
    if len(reason) > MAX_NOTE:
        raise WithdrawalError(_("Keep the reason under %(n)d characters.", n=MAX_NOTE), "reason")
    return reason


def clean_reference(reference: str | None) -> str:
    """A payment's reference as stored, or :class:`WithdrawalError` on ``reference``."""
    reference = (reference or "").strip()
    if not reference:
        raise WithdrawalError(_("Enter the payment's reference."), "reference")
    if len(reference) > 120:
        raise WithdrawalError(_("Keep the reference under 120 characters."), "reference")
    return reference


def _check_not_at_provider(withdrawal_id: int) -> None:
    """A withdrawal a payment API is paying (PayPal) is decided by that API's answer, not
    by hand: marking it paid or rejecting it now could pay it twice. Read under the
    distributor's lock, which sending a batch takes too."""
    distributor_id = db.session.scalar(
        select(Withdrawal.distributor_id).where(Withdrawal.id == withdrawal_id)
    )
    if distributor_id is None:
        return  # _transition says there is no such withdrawal
    lock_distributor(distributor_id)
    if db.session.scalar(select(PayPalItem.id).where(PayPalItem.claim == withdrawal_id)):
        db.session.rollback()
        raise WithdrawalError(
            _("PayPal is paying this withdrawal; its answer decides whether it is paid."),
        )


def reject(
    withdrawal_id: int, actor: User | None, reason: str, *, by_provider: bool = False
) -> Withdrawal:
    """requested or approved → rejected; the amount returns to ``available`` and the
    distributor is told why. Commits.

    ``actor`` None with ``by_provider``: a payment API returned the payout."""
    reason = clean_reason(reason)
    if not by_provider:
        _check_not_at_provider(withdrawal_id)
    withdrawal = _transition(
        withdrawal_id,
        actor,
        (WithdrawalState.REQUESTED, WithdrawalState.APPROVED),
        WithdrawalState.REJECTED,
        decided_at=utcnow(),
        decided_by_id=actor.id if actor else None,
        reason=reason,
    )
    _move(withdrawal, Bucket.WITHDRAWING, Bucket.AVAILABLE)
    if not by_provider:  # a payment API's return has its own notice, with its reason
        notifications.withdrawal_rejected(withdrawal)
    db.session.commit()
    signals.decided.send(withdrawal.id)
    return withdrawal


def is_store_credit(withdrawal_id: int) -> bool:
    """The withdrawal is paid as store credit (``portal.withdrawals.credit``)."""
    method = db.session.scalar(
        select(PayoutAccount.method)
        .join(Withdrawal, Withdrawal.payout_account_id == PayoutAccount.id)
        .where(Withdrawal.id == withdrawal_id)
    )
    return method is PayoutMethod.STORE_CREDIT


def pay(
    withdrawal_id: int, actor: User | None, reference: str, *, by_provider: bool = False
) -> Withdrawal:
    """approved → paid with the payment's reference: ``withdrawing → paid`` in the ledger,
    and the distributor's available commissions marked paid, oldest first. Commits.

    ``actor`` None with ``by_provider``: a payment API reported the payout paid."""
    reference = clean_reference(reference)
    if not by_provider:
        _check_not_at_provider(withdrawal_id)
    if is_store_credit(withdrawal_id):
        raise WithdrawalError(
            _("Store credit is not paid by hand: its coupon is issued in the shop.")
        )
    withdrawal = _transition(
        withdrawal_id,
        actor,
        (WithdrawalState.APPROVED,),
        WithdrawalState.PAID,
        paid_at=utcnow(),
        reference=reference,
    )
    _move(withdrawal, Bucket.WITHDRAWING, Bucket.PAID)
    commissions.mark_paid(withdrawal.distributor_id, f"withdrawal:{withdrawal.id}")
    statement = statements.issue_for_payout(withdrawal)
    notifications.withdrawal_paid(withdrawal, statement.number)
    db.session.commit()
    return withdrawal
