"""Payout files against hostile values: every provider's export, every cell through the
formula guard; and PayPal accounts checked as emails or phone numbers when they are added."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from flask import Flask

from portal.accounts.models import User
from portal.csvwriter import FORMULA_LEAD, cell
from portal.extensions import db
from portal.withdrawals import payouts, services
from portal.withdrawals.models import PayoutAccount, PayoutMethod
from tests.helpers import csrf_token
from tests.money import decide, request, signed_in

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


def _hostile_account(app: Flask, distributor_id: int, method: PayoutMethod, n: int) -> int:
    """A payout account stored before validation was strict (written straight to the
    table, as a legacy row or a manual database edit would be)."""
    with app.app_context():
        row = PayoutAccount(
            distributor_id=distributor_id,
            method=method,
            holder_name=HOSTILE[n % len(HOSTILE)],
            account=f"=1+{n}@example.com" if method is PayoutMethod.PAYPAL else HOSTILE[n - 1],
            bank_name=HOSTILE[(n + 1) % len(HOSTILE)] if method is PayoutMethod.BANK else None,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def _cells(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode().lstrip("\ufeff"))))


def _is_formula(text: str) -> bool:
    return text.lstrip(" \u00a0\u3000")[:1] in FORMULA_LEAD


@pytest.mark.parametrize("provider", sorted(payouts.PROVIDERS))
def test_every_payout_format_guards_every_cell(app: Flask, seller, ops, provider: str) -> None:
    method = next(iter(payouts.PROVIDERS[provider].methods))
    ids = []
    for n in range(1, 4):
        account = _hostile_account(app, seller, method, n)
        withdrawal = request(app, seller, "10", account)
        decide(app, ops, withdrawal, "approve")
        ids.append(withdrawal)
    with app.app_context():
        exported = payouts.export(provider, ids, db.session.get(User, ops))
    rows = _cells(exported.content)
    body = rows[1:] if rows[0][0].isidentifier() else rows  # the bank sheet has a header
    assert len(body) == 3
    for row in rows:
        for text in row:
            assert not _is_formula(text), (provider, row)
    hostile_cells = [text for row in body for text in row if text.startswith("'")]
    assert hostile_cells, "the hostile values reached the file"
    assert {text[1:] for text in hostile_cells} & (set(HOSTILE) | {"=1+1@example.com"})
    for row in body:  # amounts stay numbers: the guard leaves them alone
        assert D(row[3] if provider == "bank" else row[1]) == D("10.00")


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
