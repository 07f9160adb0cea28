"""Statements (self-billing invoices) as PDF: numbered without gaps, what they cover read
from the ledger, in the distributor's language, theirs alone, and attached to the
"withdrawal paid" email. The PDF is turned back into text with pypdf."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal as D

from flask import Flask
from pypdf import PdfReader

from portal.accounts.models import User
from portal.distributors import adjustments
from portal.extensions import db
from portal.notifications.mail import deliver_emails
from portal.withdrawals import statements
from portal.withdrawals.models import Statement, StatementKind
from tests.money import account_of, add_account, configure, decide, earn, request, signed_in


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _paid(app: Flask, ops: int, distributor_id: int, amount: str) -> int:
    try:
        account = account_of(app, distributor_id)
    except IndexError:
        account = add_account(app, distributor_id)
    withdrawal = request(app, distributor_id, amount, account)
    decide(app, ops, withdrawal, "approve")
    decide(app, ops, withdrawal, "pay", f"BANK-{withdrawal}")
    return withdrawal


def test_each_payout_gets_the_next_number_and_lists_what_it_covers(
    app: Flask, seller, ops, make_user, outbox
) -> None:
    admin = make_user("admin@shop.example")
    configure(app, admin, legal_name="杭州小店有限公司", legal_address="西湖区 1 号")
    with app.app_context():
        adjustments.submit(seller, D("5.00"), "Welcome bonus", db.session.get(User, ops))
        db.session.commit()
    first = _paid(app, ops, seller, "20")
    with app.app_context():
        adjustments.submit(seller, D("-2.50"), "Returned sample", db.session.get(User, ops))
        db.session.commit()
    second = _paid(app, ops, seller, "15")
    with app.app_context():
        one, two = (statements.for_withdrawal(w) for w in (first, second))
        assert (one.number, two.number) == (1, 2) and one.kind is StatementKind.PAYOUT
        first_text = _text(statements.pdf(one))
        second_text = _text(statements.pdf(two))
    assert "000001" in first_text and "Self-billing statement" in first_text
    assert "杭州小店有限公司" in first_text  # Chinese drawn with an embedded font
    assert "Manual adjustment: Welcome bonus" in first_text
    assert f"BANK-{first}" in first_text
    # The second covers what came after the first payout only.
    assert "Manual adjustment: Returned sample" in second_text
    assert "Welcome bonus" not in second_text
    with app.app_context():
        deliver_emails()
    paid_emails = [m for m in outbox() if m.get_content_type() == "multipart/mixed"]
    assert len(paid_emails) == 2
    attachment = next(paid_emails[0].iter_attachments())
    assert attachment.get_filename() == "statement-000001.pdf"
    assert "000001" in _text(attachment.get_content())


def test_a_distributor_downloads_only_their_own(app: Flask, seller, ops, make_distributor) -> None:
    _paid(app, ops, seller, "20")
    other, _ = make_distributor("other@shop.example")
    earn(app, other, "50.00", "3001")
    add_account(app, other)
    _paid(app, ops, other, "20")
    mine = signed_in(app, "seller@shop.example")
    page = mine.get("/me/withdrawals").get_data(as_text=True)
    assert "/me/statements/1.pdf" in page
    response = mine.get("/me/statements/1.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert mine.get("/me/statements/2.pdf").status_code == 404  # the other's
    staff = signed_in(app, "ops@shop.example")
    assert staff.get("/admin/statements/2.pdf").status_code == 200
    assert mine.get("/admin/statements/2.pdf").status_code in (302, 403)


def test_monthly_statements_are_issued_once_in_order(app: Flask, seller, make_distributor) -> None:
    other, _ = make_distributor("other@shop.example")
    earn(app, other, "10.00", "3001")  # both booked now, in this month
    with app.app_context():
        next_month = statements.utcnow().replace(day=28) + timedelta(days=5)
        assert statements.issue_months(next_month) == 2
        assert statements.issue_months(next_month) == 0  # run again: nothing new
        rows = db.session.scalars(db.select(Statement).order_by(Statement.number)).all()
        assert [(r.number, r.distributor_id) for r in rows] == [(1, seller), (2, other)]
        assert all(r.kind is StatementKind.MONTH for r in rows)
        text = _text(statements.pdf(rows[0]))
    assert "Monthly statement" in text and "Commission on order 1001" in text
