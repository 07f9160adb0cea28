"""Store credit: a withdrawal taken, wholly or in part, as a coupon for the shop.

The distributor chooses cash, store credit or a split on the request form. The credit part
is a withdrawal of its own, paid to the distributor's *store credit* payout account (their
email, which is the only shop customer the coupon works for); it has no fee and, when ops
set ``store_credit_bonus_percent``, a bonus on top. It goes through the usual rules and
decisions (minimum, daily limit, lock, auto-approval, ops approve or reject), and once
approved its coupon is issued in the shop — which pays it.

Money in the ledger (every balance is a sum of entries; kinds ``withdrawal`` and
``credit_bonus``):

* request: ``available → withdrawing`` (as every withdrawal);
* coupon issued: ``withdrawing → credit`` (the withdrawal is paid, its reference the
  coupon's code) and the bonus ``+credit`` (kind ``credit_bonus``);
* an order spends it: ``credit → paid`` for the distributor's own money spent, the bonus
  spent ``-credit`` (``credit_bonus``); the commissions it covers are then marked paid.
  The distributor's own money is spent first. What the order did not use stays in
  ``credit`` as a new coupon for the rest, so no credit is lost to a smaller cart;
* reversed by ops: what is left returns ``credit → available``, the bonus left is taken
  back (``-credit``), and the coupon is deleted in the shop.

The shop is reached through a :class:`StoreCreditIssuer` that a shop plugin registers
(:func:`register_issuer`); the core never names the plugin. Issuing is idempotent: the
coupon (with its code) is stored before the shop is called, and the shop is asked for the
code before a coupon is created, so a crash between the two never makes a second coupon.
:func:`sync` does all the shop's side — create what is pending, delete what was spent or
taken back — one coupon at a time, each committed; it runs right after a decision and
every minute.

Orders are seen through the intake (:func:`redeem`): an order in a paid status
(processing, completed) that used a live coupon spends it, once. Spent coupons are deleted
in the shop too: the shop gives a coupon's use back when its order is cancelled, and a
spent coupon must not become spendable again. Refunds and cancellations of the redeeming
order do not give credit back (the shop refunds what was paid in money); ops give it back
with a manual adjustment when they see fit.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update

from portal import jobs
from portal.accounts.models import User
from portal.commissions import services as commissions
from portal.distributors.models import Distributor, DistributorStatus
from portal.errors import NotFound, ServiceError
from portal.extensions import db
from portal.ledger import services as ledger
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from portal.ledger.services import lock_distributor
from portal.money import round_money
from portal.notifications import services as notifications
from portal.orders import signals as order_signals
from portal.orders.services import OrderData
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals import services, signals, statements
from portal.withdrawals.credit_models import CreditState, StoreCredit
from portal.withdrawals.models import PayoutAccount, PayoutMethod, Withdrawal, WithdrawalState
from portal.withdrawals.services import WithdrawalError

log = logging.getLogger(__name__)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_ISSUER = "portal.store_credit_issuer"
SYNC_BATCH = 100
# Order statuses in which a coupon counts as spent (paid orders): a pending or on-hold
# order may still be cancelled, and the shop then gives the coupon's use back.
SPENDING = frozenset({"processing", "completed"})
LIVE = (CreditState.PENDING, CreditState.ISSUED)
_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/i/l


class TakeAs(enum.StrEnum):
    CASH = "cash"
    CREDIT = "credit"
    SPLIT = "split"


class IssuerError(Exception):
    """The shop could not be reached or refused; the message says why."""


@dataclass(frozen=True)
class Coupon:
    """What the shop is asked to create: ``amount`` off the cart, once, for ``email``."""

    code: str
    amount: Decimal
    currency: str
    email: str
    description: str


class StoreCreditIssuer(Protocol):
    """What a shop plugin gives the core to keep store credit in the shop. Every method
    raises :class:`IssuerError` when the shop cannot be reached or refuses."""

    def ready(self) -> bool:
        """The shop is connected (its keys are set)."""
        ...

    def find(self, code: str) -> str | None:
        """The shop's id of the coupon with this code, or None."""
        ...

    def create(self, coupon: Coupon) -> str:
        """Create the coupon; returns the shop's id of it."""
        ...

    def remove(self, shop_coupon_id: str) -> None:
        """Delete the coupon for good (nothing to do when it is gone already)."""
        ...


def register_issuer(app: Flask, issuer: StoreCreditIssuer) -> None:
    """A shop plugin's ``load`` registers how store credit reaches its shop."""
    app.extensions[_ISSUER] = issuer


def _issuer() -> StoreCreditIssuer | None:
    return current_app.extensions.get(_ISSUER)


def offered() -> bool:
    """Distributors may choose store credit: ops turned it on and a shop is connected."""
    issuer = _issuer()
    return bool(settings.get("store_credit_enabled") and issuer is not None and issuer.ready())


def bonus_percent() -> Decimal:
    return settings.get("store_credit_bonus_percent")


def bonus_for(amount: Decimal, currency: str) -> Decimal:
    """The bonus on ``amount`` taken as credit, rounded once to the minor unit."""
    return round_money(amount * bonus_percent() / HUNDRED, currency)


def _new_code() -> str:
    """Readable and unguessable, in lower case as the shop keeps coupon codes."""
    return "credit-" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


# --- the request ----------------------------------------------------------------------


def _credit_account(distributor: Distributor) -> PayoutAccount:
    """The distributor's store-credit payout account for their current email (made once)."""
    email = distributor.user.email.strip().lower()
    account = db.session.scalar(
        select(PayoutAccount).where(
            PayoutAccount.distributor_id == distributor.id,
            PayoutAccount.method == PayoutMethod.STORE_CREDIT,
            PayoutAccount.account == email,
            PayoutAccount.removed_at.is_(None),
        )
    )
    if account is None:
        account = PayoutAccount(
            distributor_id=distributor.id,
            method=PayoutMethod.STORE_CREDIT,
            holder_name=distributor.display_name,
            account=email,
        )
        db.session.add(account)
        db.session.flush()
    return account


def _parts(
    take_as: TakeAs, amount: Decimal, credit_amount: Decimal | None, currency: str
) -> tuple[services.Quote | None, services.Quote]:
    """The cash quote (None: all credit) and the credit quote (no fee) of a request."""
    total = services.quote(amount, currency, with_fee=False)
    if take_as is TakeAs.CREDIT:
        return None, total
    if credit_amount is None:
        raise WithdrawalError(_("Enter how much to take as store credit."), "credit_amount")
    try:
        credit = services.quote(credit_amount, currency, with_fee=False)
    except ServiceError as exc:
        raise WithdrawalError(exc.message, "credit_amount") from None
    if credit.amount >= total.amount:
        raise WithdrawalError(
            _("Keep some of the amount as cash, or choose store credit."), "credit_amount"
        )
    try:
        cash = services.quote(total.amount - credit.amount, currency)
    except ServiceError as exc:
        raise WithdrawalError(exc.message, "credit_amount") from None
    return cash, credit


def _cash_account(distributor_id: int, payout_account_id: int | None) -> None:
    """The cash part's account is one of the distributor's; :class:`WithdrawalError`."""
    try:
        services.account_for(distributor_id, payout_account_id or 0)
    except NotFound:
        raise WithdrawalError(
            _("Choose one of your payout accounts."), "payout_account_id"
        ) from None


@dataclass(frozen=True)
class CreditQuote:
    """What a request taken (partly) as credit comes to: the cash part (None: all
    credit) and the coupon with its bonus."""

    cash: services.Quote | None
    credit: Decimal
    bonus: Decimal
    currency: str

    @property
    def coupon(self) -> Decimal:
        return self.credit + self.bonus


def quote(take_as: TakeAs, amount: Decimal, credit_amount: Decimal | None) -> CreditQuote:
    """The live quote of a credit or split request; :class:`WithdrawalError` when the
    amounts cannot be requested so (the rules of the balance are checked separately)."""
    currency = settings.get("currency")
    cash, credit = _parts(take_as, amount, credit_amount, currency)
    return CreditQuote(cash, credit.amount, bonus_for(credit.amount, currency), currency)


def request(
    distributor_id: int,
    amount: Decimal,
    take_as: TakeAs,
    credit_amount: Decimal | None,
    payout_account_id: int | None,
) -> list[Withdrawal]:
    """Request ``amount`` as cash, store credit, or split (``credit_amount`` of it as
    credit, the rest as cash to ``payout_account_id``): the rules apply to the whole
    amount, the fee to the cash part only. Commits; refusals raise
    :class:`WithdrawalError` and write nothing. Returns the withdrawals (cash first)."""
    if take_as is TakeAs.CASH:
        if payout_account_id is None:
            raise WithdrawalError(_("Choose one of your payout accounts."), "payout_account_id")
        return [services.request_withdrawal(distributor_id, amount, payout_account_id)]
    if not offered():
        raise WithdrawalError(_("Store credit is not offered at the moment."))
    lock_distributor(distributor_id)
    try:
        distributor = db.session.get(Distributor, distributor_id)
        if distributor is None:
            raise WithdrawalError(_("No such distributor."))
        if distributor.status is not DistributorStatus.ACTIVE:
            raise WithdrawalError(_("Only active distributors can withdraw."))
        currency = settings.get("currency")
        cash, credit = _parts(take_as, amount, credit_amount, currency)
        if cash is not None:
            _cash_account(distributor_id, payout_account_id)
        total = credit.amount + (cash.amount if cash else ZERO)
        services.check_amount(total, services.limits(distributor_id))
    except ServiceError:
        db.session.rollback()
        raise
    made = []
    if cash is not None:
        assert payout_account_id is not None
        made.append(services.open_request(distributor_id, payout_account_id, cash))
    account = _credit_account(distributor)
    withdrawal = services.open_request(distributor_id, account.id, credit)
    made.append(withdrawal)
    bonus = bonus_for(credit.amount, currency)
    db.session.add(
        StoreCredit(
            distributor_id=distributor_id,
            withdrawal_id=withdrawal.id,
            code=_new_code(),
            currency=currency,
            amount=credit.amount + bonus,
            principal=credit.amount,
            bonus=bonus,
            email=account.account,
            state=CreditState.PENDING,
            synced=False,
        )
    )
    db.session.commit()
    for row in made:
        if row.state is WithdrawalState.APPROVED:
            signals.decided.send(row.id)
    return made


# --- the shop's side ------------------------------------------------------------------


def _transfer(
    credit: StoreCredit, source: Bucket, target: Bucket, amount: Decimal, ref: str
) -> None:
    journal = ledger.Journal()
    journal.transfer(
        credit.distributor_id,
        source,
        target,
        amount,
        credit.currency,
        ref,
        kind=EntryKind.WITHDRAWAL,
    )
    journal.write()


def _book_bonus(credit: StoreCredit, amount: Decimal, ref: str) -> None:
    journal = ledger.Journal()
    journal.book(
        credit.distributor_id, Bucket.CREDIT, amount, credit.currency, EntryKind.CREDIT_BONUS, ref
    )
    journal.write()


def _pay_withdrawal(credit: StoreCredit) -> bool:
    """The first coupon of a withdrawal is in the shop: the withdrawal is paid (its money
    into ``credit``, the bonus booked, its statement issued). False when it was rejected
    meanwhile. The caller holds the distributor's lock."""
    state = db.session.scalar(select(Withdrawal.state).where(Withdrawal.id == credit.withdrawal_id))
    if state is not WithdrawalState.APPROVED:
        return False  # checked under the lock: the transition cannot fail (and roll back)
    withdrawal = services._transition(
        credit.withdrawal_id,
        None,
        (WithdrawalState.APPROVED,),
        WithdrawalState.PAID,
        paid_at=utcnow(),
        reference=credit.code,
    )
    # Paid like any withdrawal: its statement, and the distributor is told (the code is
    # the reference).
    notifications.withdrawal_paid(withdrawal, statements.issue_for_payout(withdrawal).number)
    reference = f"withdrawal:{credit.withdrawal_id}"
    _transfer(credit, Bucket.WITHDRAWING, Bucket.CREDIT, credit.principal, reference)
    _book_bonus(credit, credit.bonus, reference)
    return True


def _locked(credit_id: int) -> StoreCredit | None:
    """The row, read again under its distributor's lock."""
    distributor_id = db.session.scalar(
        select(StoreCredit.distributor_id).where(StoreCredit.id == credit_id)
    )
    if distributor_id is None:
        return None
    lock_distributor(distributor_id)
    return db.session.get(StoreCredit, credit_id, populate_existing=True)


def _revoke(credit: StoreCredit) -> None:
    credit.state, credit.synced, credit.closed_at = CreditState.REVOKED, False, utcnow()


def _issued(credit_id: int, shop_coupon_id: str) -> None:
    """The shop has the coupon: pending → issued (paying a withdrawal's first coupon).
    Issued by a run in parallel, nothing changes; spent or taken back meanwhile, it is
    to be deleted (again). Commits."""
    credit = _locked(credit_id)
    if credit is None or credit.state is CreditState.ISSUED:
        db.session.rollback()
        return
    credit.shop_coupon_id = shop_coupon_id
    if credit.state is not CreditState.PENDING:
        credit.synced = False  # created after it was taken back: delete it
    elif credit.parent_id is None and not _pay_withdrawal(credit):
        _revoke(credit)  # rejected meanwhile: delete it again
    else:
        credit.state, credit.synced, credit.issued_at = CreditState.ISSUED, True, utcnow()
    db.session.commit()


def _waiting(credit: StoreCredit) -> bool:
    """A first coupon whose withdrawal is not approved yet (rejected ones are revoked)."""
    if credit.parent_id is not None:
        return False
    state = db.session.scalar(select(Withdrawal.state).where(Withdrawal.id == credit.withdrawal_id))
    if state is WithdrawalState.REJECTED:
        credit = _locked(credit.id)
        if credit is not None and credit.state is CreditState.PENDING:
            _revoke(credit)
        db.session.commit()
        return False
    return state is WithdrawalState.REQUESTED


def _sync_one(issuer: StoreCreditIssuer, credit_id: int) -> bool:
    """Make the shop match one coupon. Returns whether it does now."""
    credit = db.session.get(StoreCredit, credit_id, populate_existing=True)
    if credit is None or credit.synced or _waiting(credit):
        db.session.rollback()
        return False
    code = credit.code
    if credit.state is CreditState.PENDING:
        coupon = Coupon(
            code,
            credit.amount,
            credit.currency,
            credit.email,
            _("Store credit of withdrawal %(id)d", id=credit.withdrawal_id),
        )
        db.session.rollback()  # nothing is held while the shop is asked
        shop_id = issuer.find(code) or issuer.create(coupon)
        _issued(credit_id, shop_id)
        return True
    seen = credit.shop_coupon_id
    db.session.rollback()
    shop_id = seen or issuer.find(code)
    if shop_id:
        issuer.remove(shop_id)
    # Done, unless a run in parallel created it meanwhile (and noted its id): then the
    # next run deletes that one.
    unchanged = (
        StoreCredit.shop_coupon_id.is_(None) if seen is None else StoreCredit.shop_coupon_id == seen
    )
    done = db.session.execute(
        update(StoreCredit)
        .where(StoreCredit.id == credit_id, StoreCredit.state.not_in(LIVE), unchanged)
        .values(synced=True, last_error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(done)


def sync(withdrawal_id: int | None = None, limit: int = SYNC_BATCH) -> tuple[int, int]:
    """Make the shop match the coupons that it does not (of one withdrawal, or the
    oldest ``limit``): create the pending ones, delete the spent and taken-back ones.
    Each coupon alone, committed; a refusal is kept on the row and tried again on the
    next run. Returns (done, failed). The queued job after a decision, and every minute."""
    issuer = _issuer()
    if issuer is None or not issuer.ready():
        return 0, 0
    query = select(StoreCredit.id).where(StoreCredit.synced.is_(False)).order_by(StoreCredit.id)
    if withdrawal_id is not None:
        query = query.where(StoreCredit.withdrawal_id == withdrawal_id)
    else:  # first coupons waiting for their withdrawal's approval are not due
        query = query.join(Withdrawal, Withdrawal.id == StoreCredit.withdrawal_id).where(
            or_(
                StoreCredit.parent_id.is_not(None),
                Withdrawal.state != WithdrawalState.REQUESTED,
            )
        )
    ids = list(db.session.scalars(query.limit(limit)))
    db.session.rollback()
    done = failed = 0
    for credit_id in ids:
        try:
            done += _sync_one(issuer, credit_id)
        except IssuerError as exc:
            db.session.rollback()
            db.session.execute(
                update(StoreCredit)
                .where(StoreCredit.id == credit_id)
                .values(attempts=StoreCredit.attempts + 1, last_error=str(exc)[:2000])
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            log.warning("store credit %s not in the shop yet: %s", credit_id, exc)
            failed += 1
    return done, failed


def _decided(withdrawal_id: int, **_: Any) -> None:
    if db.session.scalar(
        select(StoreCredit.id).where(StoreCredit.withdrawal_id == withdrawal_id).limit(1)
    ):
        jobs.enqueue(sync_withdrawal, withdrawal_id, queue=jobs.BACKGROUND, timeout=300)


def sync_withdrawal(withdrawal_id: int) -> tuple[int, int]:
    """The queued job after a decision on a store-credit withdrawal."""
    return sync(withdrawal_id)


def connect(app: Flask) -> None:
    """Issue or take back coupons right after decisions, and catch up every minute."""
    signals.decided.connect(_decided)
    order_signals.copies_stored.connect(_stored)
    jobs.every(app, 60, sync, name="store_credit.sync", timeout=300)


def _stored(copies: Sequence[OrderData]) -> None:
    redeem(copies)


# --- orders that spend it -------------------------------------------------------------


def redeem(copies: Sequence[OrderData]) -> int:
    """Book the store credit that orders spent (the intake's ``copies_stored`` signal
    brings the copies it stored; in its transaction, flushed): a paid order that used a
    live coupon spends it once — a copy seen again changes nothing. Returns how many
    coupons were spent."""
    uses = [(data, use) for data in copies if data.status in SPENDING for use in data.coupon_uses]
    codes = {use.code.strip().lower() for _data, use in uses}
    if not codes:
        return 0
    ids = dict(
        db.session.execute(
            select(StoreCredit.code, StoreCredit.id).where(StoreCredit.code.in_(codes))
        ).all()
    )
    spent = 0
    for data, use in uses:
        credit_id = ids.get(use.code.strip().lower())
        if credit_id is not None:
            spent += _spend(credit_id, data, use.amount)
    return spent


def _spend(credit_id: int, data: OrderData, amount: Decimal) -> bool:
    credit = _locked(credit_id)
    if credit is None or credit.shop_order_id is not None:
        return False  # spent already (this order seen again, or a second use refused by the shop)
    if credit.state not in LIVE:
        log.warning(
            "store credit %s was used by order %s after it was taken back",
            credit.code,
            data.shop_order_id,
        )
        return False
    # A first coupon used before the portal heard the shop's answer (a crash): the shop
    # has it, so the withdrawal is paid first.
    first = credit.state is CreditState.PENDING and credit.parent_id is None
    if first and not _pay_withdrawal(credit):
        return False
    used = min(max(round_money(amount, credit.currency), ZERO), credit.amount)
    own = min(used, credit.principal)
    bonus = used - own
    reference = f"credit:{credit.id}"
    _transfer(credit, Bucket.CREDIT, Bucket.PAID, own, reference)
    _book_bonus(credit, -bonus, reference)
    credit.state, credit.synced, credit.closed_at = CreditState.REDEEMED, False, utcnow()
    credit.shop_order_id, credit.used = data.shop_order_id, used
    if used < credit.amount:
        db.session.add(
            StoreCredit(
                distributor_id=credit.distributor_id,
                withdrawal_id=credit.withdrawal_id,
                parent_id=credit.id,
                code=_new_code(),
                currency=credit.currency,
                amount=credit.amount - used,
                principal=credit.principal - own,
                bonus=credit.bonus - bonus,
                email=credit.email,
                state=CreditState.PENDING,
                synced=False,
            )
        )
    db.session.flush()
    commissions.mark_paid(credit.distributor_id, f"withdrawal:{credit.withdrawal_id}")
    return True


# --- reversal -------------------------------------------------------------------------


def reverse(withdrawal_id: int, actor: User, reason: str) -> Withdrawal:
    """Take back a paid store-credit withdrawal: what is left of its credit returns to
    ``available`` (the bonus left is taken back) and its coupon is deleted in the shop.
    What orders already spent stays spent. Audited; commits."""
    reason = services.clean_reason(reason)
    if not services.is_store_credit(withdrawal_id):
        raise WithdrawalError(_("Only store credit can be reversed."))
    withdrawal = services._transition(
        withdrawal_id, actor, (WithdrawalState.PAID,), WithdrawalState.REVERSED, reason=reason
    )
    live = db.session.scalar(
        select(StoreCredit).where(
            StoreCredit.withdrawal_id == withdrawal_id, StoreCredit.state.in_(LIVE)
        )
    )
    if live is None:
        db.session.rollback()
        raise WithdrawalError(_("Nothing is left of this store credit: it was spent."))
    _transfer(live, Bucket.CREDIT, Bucket.AVAILABLE, live.principal, f"withdrawal:{withdrawal_id}")
    _book_bonus(live, -live.bonus, f"withdrawal:{withdrawal_id}")
    _revoke(live)
    db.session.commit()
    signals.decided.send(withdrawal_id)
    return withdrawal


# --- reading --------------------------------------------------------------------------


def of(distributor_id: int) -> list[StoreCredit]:
    """The distributor's coupons that can still be spent or are on their way, newest first."""
    return list(
        db.session.scalars(
            select(StoreCredit)
            .where(StoreCredit.distributor_id == distributor_id, StoreCredit.state.in_(LIVE))
            .order_by(StoreCredit.id.desc())
        )
    )


def errors_for(withdrawal_ids: list[int]) -> dict[int, str]:
    """Why the shop does not have the coupon of these withdrawals yet, where it refused
    (the queue shows it; the sync keeps trying). One query."""
    if not withdrawal_ids:
        return {}
    return dict(
        db.session.execute(
            select(StoreCredit.withdrawal_id, StoreCredit.last_error).where(
                StoreCredit.withdrawal_id.in_(withdrawal_ids),
                StoreCredit.synced.is_(False),
                StoreCredit.last_error.is_not(None),
            )
        ).all()
    )


def verify() -> list[str]:
    """The ledger's ``credit`` bucket holds exactly the live coupons' value and its bonus
    entries exactly their bonus, per distributor; [] when sound. (A withdrawal's first
    coupon is booked once the shop has it; a rest is booked from the start.)"""
    booked = or_(
        StoreCredit.state == CreditState.ISSUED,
        (StoreCredit.state == CreditState.PENDING) & StoreCredit.parent_id.is_not(None),
    )
    wanted: dict[int, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for distributor_id, amount, bonus in db.session.execute(
        select(
            StoreCredit.distributor_id, func.sum(StoreCredit.amount), func.sum(StoreCredit.bonus)
        )
        .where(booked)
        .group_by(StoreCredit.distributor_id)
    ):
        wanted[distributor_id] = (Decimal(amount), Decimal(bonus))
    found: dict[int, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for distributor_id, amount, bonus in db.session.execute(
        select(
            LedgerEntry.distributor_id,
            func.sum(LedgerEntry.amount),
            func.sum(
                case(
                    (LedgerEntry.kind == EntryKind.CREDIT_BONUS.value, LedgerEntry.amount), else_=0
                )
            ),
        )
        .where(LedgerEntry.bucket == Bucket.CREDIT.value)
        .group_by(LedgerEntry.distributor_id)
    ):
        found[distributor_id] = (Decimal(amount), Decimal(bonus or 0))
    problems = []
    for distributor_id in sorted(set(wanted) | set(found)):
        want, have = wanted[distributor_id], found[distributor_id]
        # Compared rounded: SQLite sums NUMERIC as floats.
        if any(abs(a - b) > Decimal("0.00001") for a, b in zip(want, have, strict=True)):
            problems.append(
                f"distributor {distributor_id}: store credit coupons hold {want[0]:.4f} "
                f"(bonus {want[1]:.4f}), the ledger's credit bucket {have[0]:.4f} "
                f"(bonus {have[1]:.4f})"
            )
    return problems
