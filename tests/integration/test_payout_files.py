"""Payout files against hostile values: every provider's export, every cell through the
formula guard; the Alipay and WeChat Pay layouts; and PayPal accounts checked as emails or
phone numbers when they are added.

The Alipay file follows the 批量付款到支付宝账户 template of Alipay's merchant back-office
(two batch lines — 批次号, 付款日期, 付款人email, 账户名称, 总金额（元）, 总笔数 — then the
payee columns 商户流水号, 收款人email, 收款人姓名, 付款金额（元）, 付款理由; read as GBK). The
WeChat Pay file follows the batch detail of 商家转账到零钱 (商家明细单号, 收款用户openid,
收款用户姓名, 转账金额（元）, 转账备注 of at most 32 characters — the fields of the v3
``/v3/transfer/batches`` ``transfer_detail_list``, amounts in yuan rather than fen)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from flask import Flask

from portal.accounts.models import User
from portal.csvwriter import FORMULA_LEAD, cell
from portal.extensions import db
from portal.settings import services as settings
from portal.withdrawals import payouts, services
from portal.withdrawals.models import PayoutAccount, PayoutMethod
from portal.withdrawals.services import WithdrawalError
from tests.helpers import csrf_token
from tests.money import decide, earn, request, signed_in

HOSTILE = (
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-2+3",
    "@SUM(1)",
    "\t=1+2",
    "\r=1+2",
    " =1+2",
    "＝1+2",
)


def _hostile_account_number(method: PayoutMethod, n: int) -> str:
    if method is PayoutMethod.PAYPAL:
        return f"=1+{n}@example.com"
    if method is PayoutMethod.WECHAT:  # an openid may well begin with a minus sign
        return f"-{n}".ljust(28, "a")
    return HOSTILE[n - 1]


def _hostile_account(app: Flask, distributor_id: int, method: PayoutMethod, n: int) -> int:
    """A payout account stored before validation was strict (written straight to the
    table, as a legacy row or a manual database edit would be)."""
    with app.app_context():
        row = PayoutAccount(
            distributor_id=distributor_id,
            method=method,
            holder_name=HOSTILE[n % len(HOSTILE)],
            account=_hostile_account_number(method, n),
            bank_name=HOSTILE[(n + 1) % len(HOSTILE)] if method is PayoutMethod.BANK else None,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def _cells(content: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode(encoding).lstrip("\ufeff"))))


# Per format: the file's encoding, the first payee line and the amount's column.
LAYOUT = {
    "bank": ("utf-8", 1, 3),
    "paypal": ("utf-8", 0, 1),
    "alipay": ("gb18030", 3, 3),
    "wechat": ("utf-8", 1, 3),
}


@pytest.fixture
def yuan(app: Flask, plan) -> None:
    """A shop selling in yuan: Alipay and WeChat Pay pay only CNY."""
    with app.app_context():
        settings.update(
            {
                "currency": "CNY",
                "alipay_payer_account": "finance@shop.example",
                "alipay_payer_name": "杭州小店有限公司",
            },
            None,
        )
        db.session.commit()


def _is_formula(text: str) -> bool:
    return text.lstrip(" \u00a0\u3000")[:1] in FORMULA_LEAD


@pytest.mark.parametrize("provider", sorted(payouts.PROVIDERS))
def test_every_payout_format_guards_every_cell(
    app: Flask, yuan, make_distributor, ops, provider: str
) -> None:
    seller, _ = make_distributor("yuan@shop.example")
    earn(app, seller, "50.00", "2001", currency="CNY")
    method = next(iter(payouts.PROVIDERS[provider].methods))
    ids = []
    for n in range(1, 4):
        account = _hostile_account(app, seller, method, n)
        withdrawal = request(app, seller, "10", account)
        decide(app, ops, withdrawal, "approve")
        ids.append(withdrawal)
    with app.app_context():
        exported = payouts.export(provider, ids, db.session.get(User, ops))
    encoding, first, amount_column = LAYOUT[provider]
    rows = _cells(exported.content, encoding)
    body = rows[first:]
    assert len(body) == 3
    for row in rows:
        for text in row:
            assert not _is_formula(text), (provider, row)
    hostile_cells = [text for row in body for text in row if text.startswith("'")]
    assert hostile_cells, "the hostile values reached the file"
    assert {text[1:] for text in hostile_cells} & (set(HOSTILE) | {"=1+1@example.com"})
    for row in body:  # amounts stay numbers: the guard leaves them alone
        assert D(row[amount_column]) == D("10.00")


def _approved(app: Flask, ops: int, distributor_id: int, method: PayoutMethod, *amounts: str):
    with app.app_context():
        account = services.add_account(
            distributor_id,
            method,
            "王小明",
            "13800138000" if method is PayoutMethod.ALIPAY else "o4GgauF_AjMegTugrYJwDubTLK7w",
            None,
        ).id
    ids = [request(app, distributor_id, amount, account) for amount in amounts]
    for withdrawal in ids:
        decide(app, ops, withdrawal, "approve")
    return ids


def test_the_alipay_file_is_the_batch_template(app: Flask, yuan, make_distributor, ops) -> None:
    seller, _ = make_distributor("yuan@shop.example")
    earn(app, seller, "50.00", "2001", currency="CNY")
    ids = _approved(app, ops, seller, PayoutMethod.ALIPAY, "12.30", "10.05")
    with app.app_context():
        exported = payouts.export("alipay", ids, db.session.get(User, ops))
        again = payouts.export("alipay", list(reversed(ids)), db.session.get(User, ops))
    assert exported.filename.startswith("alipay-batch-") and "gb18030" in exported.mimetype
    rows = _cells(exported.content, "gb18030")
    assert rows[0] == ["批次号", "付款日期", "付款人email", "账户名称", "总金额（元）", "总笔数"]
    batch_number, day, payer, payer_name, total, count = rows[1]
    assert batch_number.isdigit() and len(batch_number) == 20 and batch_number[:8] == day
    assert (payer, payer_name, D(total), count) == (
        "finance@shop.example",
        "杭州小店有限公司",
        D("22.35"),
        "2",
    )
    assert rows[2] == ["商户流水号", "收款人email", "收款人姓名", "付款金额（元）", "付款理由"]
    assert [(r[0], r[1], r[2], r[3]) for r in rows[3:]] == [
        (f"W{ids[0]}", "13800138000", "王小明", "12.30"),
        (f"W{ids[1]}", "13800138000", "王小明", "10.05"),
    ]
    # The same withdrawals make the same batch number: Alipay refuses a second upload.
    assert _cells(again.content, "gb18030")[1][0] == batch_number
    exported.content.decode("gbk")  # every character here is one GBK has


def test_the_wechat_file_is_the_batch_detail(app: Flask, yuan, make_distributor, ops) -> None:
    seller, _ = make_distributor("yuan@shop.example")
    earn(app, seller, "50.00", "2001", currency="CNY")
    ids = _approved(app, ops, seller, PayoutMethod.WECHAT, "20.00")
    with app.app_context():
        exported = payouts.export("wechat", ids, db.session.get(User, ops))
    rows = _cells(exported.content)
    assert rows[0] == [
        "商家明细单号",
        "收款用户openid",
        "收款用户姓名",
        "转账金额（元）",
        "转账备注",
    ]
    detail, openid, name, amount, remark = rows[1]
    assert (detail, openid, name, amount) == (
        f"W{ids[0]}",
        "o4GgauF_AjMegTugrYJwDubTLK7w",
        "王小明",
        "20.00",
    )
    assert detail.isalnum() and 0 < len(remark) <= 32


def test_wechat_pay_needs_the_openid(app: Flask, yuan, make_distributor, ops) -> None:
    """A WeChat ID (微信号) is accepted as an account, but WeChat Pay cannot pay one."""
    seller, _ = make_distributor("yuan@shop.example")
    earn(app, seller, "50.00", "2001", currency="CNY")
    with app.app_context():
        account = services.add_account(seller, PayoutMethod.WECHAT, "王小明", "wxid_jane", None).id
    withdrawal = request(app, seller, "10", account)
    decide(app, ops, withdrawal, "approve")
    with app.app_context(), pytest.raises(WithdrawalError, match=f"W{withdrawal}"):
        payouts.export("wechat", [withdrawal], db.session.get(User, ops))


def test_alipay_and_wechat_pay_only_yuan(app: Flask, seller, ops) -> None:
    """The shop sells in USD: an approved Alipay withdrawal is not in an Alipay file."""
    ids = _approved(app, ops, seller, PayoutMethod.ALIPAY, "10")
    with app.app_context(), pytest.raises(WithdrawalError):
        payouts.export("alipay", ids, db.session.get(User, ops))


def test_the_guard_leaves_numbers_and_plain_text_alone() -> None:
    assert cell(D("-12.50")) == D("-12.50") and cell(-3) == -3
    assert cell(None) == "" and cell("") == ""
    assert cell("Jane Doe") == "Jane Doe" and cell("W12") == "W12"
    assert cell(True) == "True"
    for text in HOSTILE:
        assert cell(text) == "'" + text


def _add(client, account: str, method: str = "paypal"):
    token = csrf_token(client, "/me/withdrawals/accounts")
    return client.post(
        "/me/withdrawals/accounts",
        data={"csrf_token": token, "method": method, "holder_name": "Jane", "account": account},
    )


def test_paypal_accounts_are_emails_or_phone_numbers(app: Flask, seller) -> None:
    client = signed_in(app, "seller@shop.example")
    for bad in ("=1+2@example.com", "+1+2@example.com", "not an email", "+8613800138000", "123"):
        refused = _add(client, bad)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400, bad
        assert 'id="account-error"' in html and "PayPal" in html, bad
    assert _add(client, "jane.doe+shop@example.com").status_code == 302
    assert _add(client, "138 0013 8000").status_code == 302
    with app.app_context():
        stored = {a.account for a in services.accounts(seller)}
    assert stored == {"jane.doe+shop@example.com", "13800138000"}


def test_alipay_emails_follow_the_same_rule(app: Flask, seller) -> None:
    client = signed_in(app, "seller@shop.example")
    assert _add(client, "=1+2@example.com", "alipay").status_code == 400
    assert _add(client, "+8613800138000", "alipay").status_code == 302
