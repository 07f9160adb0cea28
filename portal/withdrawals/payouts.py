"""Payout providers: how approved withdrawals leave the shop's bank or wallet.

Each file provider turns a batch of approved withdrawals into the file a bank, PayPal,
Alipay or WeChat Pay takes for a bulk payment; ops upload it there, then mark the batch
paid with the payment's reference. A provider that calls a payment API (:class:`PayoutApi`,
today PayPal Payouts in :mod:`portal.withdrawals.paypal`) sends the batch itself and the
platform's answer marks each withdrawal paid or returned (docs/payouts.md describes the
Alipay and WeChat Pay transfer APIs such a provider would call).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit import services as audit
from portal.csvwriter import GuardedWriter
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.money import round_money
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals.models import PayoutMethod, Withdrawal, WithdrawalState
from portal.withdrawals.services import OPENID, WithdrawalError


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    content: bytes


class PayoutProvider(Protocol):
    key: str
    label: object
    methods: frozenset[PayoutMethod]
    currencies: frozenset[str] | None  # None: any currency
    limit: int | None  # the most rows the platform takes in one file

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export: ...


class PayoutApi(Protocol):
    """A provider that pays through the platform's API instead of a file. ``send`` stores
    the batch before calling the API (so a retry can never pay twice) and commits; the
    platform's answers, polled or pushed, reach the withdrawals' own pay and reject steps."""

    key: str
    label: object
    methods: frozenset[PayoutMethod]
    currencies: frozenset[str] | None
    limit: int | None

    def ready(self) -> bool: ...  # credentials are set

    def send(self, withdrawal_ids: Sequence[int], actor: User) -> object: ...


def _csv(rows: list[list[object]], header: list[str] | None) -> bytes:
    buffer = io.StringIO()
    writer = GuardedWriter(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    # A BOM so spreadsheet programs read names in Chinese correctly.
    return ("\ufeff" + buffer.getvalue()).encode()


def _text(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    GuardedWriter(buffer).writerows(rows)
    return buffer.getvalue()


def _reference(withdrawal: Withdrawal) -> str:
    return f"W{withdrawal.id}"


class BankTransferCsv:
    """A generic bulk bank-transfer sheet: one row per payee, the net amount."""

    key = "bank"
    label = _l("Bank transfer (CSV)")
    methods = frozenset({PayoutMethod.BANK})
    currencies = None
    limit = None

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
    currencies = None
    limit = None

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


def _batch_number(withdrawals: Sequence[Withdrawal]) -> str:
    """Digits: the day, then twelve digits derived from the withdrawals in the batch.

    The same withdrawals exported twice on one day get the same number, and Alipay refuses
    a batch number it has already taken, so uploading a file twice cannot pay twice."""
    ids = ",".join(str(w.id) for w in sorted(withdrawals, key=lambda w: w.id))
    digest = int(hashlib.sha256(ids.encode()).hexdigest()[:15], 16) % 10**12
    return f"{utcnow():%Y%m%d}{digest:012d}"


class AlipayBatchCsv:
    """Alipay's 批量付款到支付宝账户 template, as its merchant back-office takes it.

    Two header lines describe the batch (批次号, 付款日期, 付款人email, 账户名称,
    总金额（元）, 总笔数), then one line of column names and a line per payee (商户流水号,
    收款人email, 收款人姓名, 付款金额（元）, 付款理由). The payee's account is the Alipay
    email or phone number. Alipay reads the file as GBK; it is written in GB18030, which
    is GBK for every character GBK has and still encodes the rare names GBK lacks.
    Only CNY, and at most 1,000 payees a file."""

    key = "alipay"
    label = _l("Alipay batch payment (CSV)")
    methods = frozenset({PayoutMethod.ALIPAY})
    currencies = frozenset({"CNY"})
    limit = 1000

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export:
        amounts = [round_money(w.net, w.currency) for w in withdrawals]
        batch = [
            ["批次号", "付款日期", "付款人email", "账户名称", "总金额（元）", "总笔数"],
            [
                _batch_number(withdrawals),
                f"{utcnow():%Y%m%d}",
                settings.get("alipay_payer_account"),
                settings.get("alipay_payer_name"),
                sum(amounts, start=round_money(Decimal(0), "CNY")),
                len(withdrawals),
            ],
            ["商户流水号", "收款人email", "收款人姓名", "付款金额（元）", "付款理由"],
        ]
        rows: list[list[object]] = [
            [
                _reference(w),
                w.payout_account.account,
                w.payout_account.holder_name,
                amount,
                _("Commission payout %(reference)s", reference=_reference(w)),
            ]
            for w, amount in zip(withdrawals, amounts, strict=True)
        ]
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        content = _text(batch + rows).encode("gb18030")
        return Export(f"alipay-batch-{stamp}.csv", "text/csv; charset=gb18030", content)


class WeChatBatchTransferCsv:
    """WeChat Pay's 商家转账到零钱 batch detail, the columns of the merchant platform's
    batch-transfer upload (the same fields as the v3 API's ``transfer_detail_list``):
    商家明细单号 (letters and digits), 收款用户openid, 收款用户姓名, 转账金额（元）,
    转账备注 (at most 32 characters). The payee's account must be their openid under the
    merchant's app id; WeChat Pay requires the real name from 2,000 yuan, so it is always
    written. Only CNY, and at most 3,000 payees a batch."""

    key = "wechat"
    label = _l("WeChat Pay batch transfer (CSV)")
    methods = frozenset({PayoutMethod.WECHAT})
    currencies = frozenset({"CNY"})
    limit = 3000

    def export(self, withdrawals: Sequence[Withdrawal]) -> Export:
        by_id = [w for w in withdrawals if not OPENID.fullmatch(w.payout_account.account)]
        if by_id:
            raise WithdrawalError(
                _(
                    "WeChat Pay transfers to an openid, not to a WeChat ID: pay %(references)s "
                    "another way or ask for the openid.",
                    references=", ".join(_reference(w) for w in by_id),
                ),
            )
        rows: list[list[object]] = [
            [
                _reference(w),
                w.payout_account.account,
                w.payout_account.holder_name,
                round_money(w.net, w.currency),
                _("Commission payout %(reference)s", reference=_reference(w))[:32],
            ]
            for w in withdrawals
        ]
        header = ["商家明细单号", "收款用户openid", "收款用户姓名", "转账金额（元）", "转账备注"]
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        return Export(f"wechat-transfers-{stamp}.csv", "text/csv", _csv(rows, header))


PROVIDERS: dict[str, PayoutProvider] = {
    p.key: p
    for p in (BankTransferCsv(), PayPalMassPayCsv(), AlipayBatchCsv(), WeChatBatchTransferCsv())
}


def export(provider_key: str, withdrawal_ids: Sequence[int], actor: User) -> Export:
    """The provider's file for the chosen approved withdrawals it can pay. Audited;
    commits (nothing changes state: ops mark the batch paid once the money has left)."""
    provider = PROVIDERS.get(provider_key)
    if provider is None:
        raise WithdrawalError(_("Unknown payout format."))
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
        if w.state is WithdrawalState.APPROVED
        and w.payout_account.method in provider.methods
        and (provider.currencies is None or w.currency in provider.currencies)
    ]
    if not payable:
        raise WithdrawalError(
            _("None of the selected withdrawals is approved and payable this way.")
        )
    if provider.limit is not None and len(payable) > provider.limit:
        raise WithdrawalError(
            _("This format takes at most %(limit)d payees in one file.", limit=provider.limit),
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
