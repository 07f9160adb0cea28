"""Payout providers: how approved withdrawals leave the shop's bank or wallet.

Manual first: each provider turns a batch of approved withdrawals into the file a bank
or PayPal takes for a bulk payment; ops upload it there, then mark the batch paid with
the payment's reference. A provider that calls a payment API implements the same
interface later.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit import services as audit
from portal.commissions.engine import round_money
from portal.csvwriter import GuardedWriter
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.timeutil import utcnow
from portal.withdrawals.models import PayoutMethod, Withdrawal, WithdrawalState
from portal.withdrawals.services import WithdrawalError


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    content: bytes


class PayoutProvider(Protocol):
    key: str
    label: object
    methods: frozenset[PayoutMethod]

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export: ...


def _csv(rows: list[list[object]], header: list[str] | None) -> bytes:
    buffer = io.StringIO()
    writer = GuardedWriter(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    # A BOM so spreadsheet programs read names in Chinese correctly.
    return ("\ufeff" + buffer.getvalue()).encode()


def _reference(withdrawal: Withdrawal) -> str:
    return f"W{withdrawal.id}"


class BankTransferCsv:
    """A generic bulk bank-transfer sheet: one row per payee, the net amount."""

    key = "bank"
    label = _l("Bank transfer (CSV)")
    methods = frozenset({PayoutMethod.BANK})

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export:
        rows: list[list[object]] = [
            [
                w.payout_account.holder_name,
                w.payout_account.account,
                w.payout_account.bank_name,
                round_money(w.net, w.currency),
                w.currency,
                _reference(w),
            ]
            for w in withdrawals
        ]
        header = ["beneficiary_name", "account", "bank", "amount", "currency", "reference"]
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return Export(f"bank-transfers-{stamp}.csv", "text/csv", _csv(rows, header))


class PayPalMassPayCsv:
    """PayPal Payouts / Mass Pay upload: no header; recipient email, amount, currency,
    unique id, note."""

    key = "paypal"
    label = _l("PayPal mass payout (CSV)")
    methods = frozenset({PayoutMethod.PAYPAL})

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export:
        rows: list[list[object]] = [
            [
                w.payout_account.account,
                round_money(w.net, w.currency),
                w.currency,
                _reference(w),
                _("Commission payout %(reference)s", reference=_reference(w)),
            ]
            for w in withdrawals
        ]
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return Export(f"paypal-payouts-{stamp}.csv", "text/csv", _csv(rows, None))


PROVIDERS: dict[str, PayoutProvider] = {p.key: p for p in (BankTransferCsv(), PayPalMassPayCsv())}


def export(provider_key: str, withdrawal_ids: Sequence[int], actor: User) -> Export:
    """The provider's file for the chosen approved withdrawals it can pay. Audited;
    commits (nothing changes state: ops mark the batch paid once the money has left)."""
    provider = PROVIDERS.get(provider_key)
    if provider is None:
        raise WithdrawalError(None, _("Unknown payout format."))
    chosen = list(
        db.session.scalars(
            select(Withdrawal)
            .options(selectinload(Withdrawal.payout_account))
            .where(Withdrawal.id.in_(withdrawal_ids))
            .order_by(Withdrawal.id)
        )
    )
    payable = [
        w
        for w in chosen
        if w.state is WithdrawalState.APPROVED and w.payout_account.method in provider.methods
    ]
    if not payable:
        raise WithdrawalError(
            None, _("None of the selected withdrawals is approved and payable this way.")
        )
    result = provider.export(payable)
    audit.record(
        actor,
        "payout.export",
        "payout_file",
        result.filename,
        None,
        {"provider": provider.key, "withdrawals": [w.id for w in payable]},
    )
    db.session.commit()
    return result


def distributor_names(withdrawals: Sequence[Withdrawal]) -> dict[int, Distributor]:
    ids = {w.distributor_id for w in withdrawals}
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(select(Distributor).where(Distributor.id.in_(ids)))}
