"""Manual adjustments: the confirm step names the amount and the person; above the
approval amount a second, different staff member approves (maker-checker, both in the
audit log) before anything reaches the ledger; ops have a per-adjustment limit; absurd
amounts are field errors; two approvals at once book once."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.distributors import adjustments
from portal.distributors.models import AdjustmentRequest, AdjustmentState
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from tests.helpers import csrf_token, run_together
from tests.money import HX, balances, configure, signed_in, verify


@pytest.fixture
def people(app: Flask, make_user, make_distributor) -> dict[str, int]:
    """A distributor, two ops and an admin (approval above 1,000, ops limit 5,000)."""
    ids = {
        "admin": make_user("admin@shop.example", Role.ADMIN),
        "maker": make_user("maker@shop.example", Role.OPS),
        "checker": make_user("checker@shop.example", Role.OPS),
        "lin": make_distributor("lin@shop.example", name="Lin Mei")[0],
    }
    configure(
        app, ids["admin"], adjustment_approval_above=D("1000"), adjustment_limit_ops=D("5000")
    )
    return ids


def adjust(client: FlaskClient, distributor_id: int, amount: str, reason: str, **extra: str):
    page = f"/admin/distributors/{distributor_id}"
    data = {"csrf_token": csrf_token(client, page), "amount": amount, "reason": reason, **extra}
    return client.post(f"{page}/adjust", data=data)


def decide(client: FlaskClient, request_id: int, action: str, **data: str):
    token = csrf_token(client, "/admin/adjustments")
    return client.post(
        f"/admin/adjustments/{request_id}/{action}",
        data={"csrf_token": token, **data},
        headers=HX,
    )


def manual_entries(app: Flask) -> list[D]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(LedgerEntry.amount)
                .where(LedgerEntry.kind == EntryKind.MANUAL.value)
                .order_by(LedgerEntry.id)
            )
        )


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def the_request(app: Flask) -> AdjustmentRequest:
    with app.app_context():
        return db.session.scalars(select(AdjustmentRequest)).one()


def test_the_confirm_step_names_amount_person_and_what_happens(app: Flask, people) -> None:
    maker = signed_in(app, "maker@shop.example")
    asked = adjust(maker, people["lin"], "-999.99", "Chargeback")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<html" in page
    assert "Adjust Lin Mei&#39;s balance by -$999.99?" in page
    assert "maker@shop.example" in page and "Chargeback" in page
    assert "$0.00 → -$999.99" in page  # the available balance before → after
    assert "It is booked into the available balance now." in page
    assert manual_entries(app) == []  # asked, nothing booked
    done = adjust(maker, people["lin"], "-999.99", "Chargeback", confirmed="1")
    assert done.status_code == 302
    assert manual_entries(app) == [D("-999.99")]
    assert actions(app)[-1] == "ledger.adjust"
    assert verify(app) == []


def test_above_the_threshold_a_second_staff_member_approves(app: Flask, people) -> None:
    maker = signed_in(app, "maker@shop.example")
    asked = adjust(maker, people["lin"], "2500", "Campaign prize").get_data(as_text=True)
    assert "Above $1,000.00: it is not booked yet." in asked
    assert "Ask for approval" in asked
    done = adjust(maker, people["lin"], "2500", "Campaign prize", confirmed="1")
    assert done.status_code == 302
    assert "waits for a second staff member" in maker.get(done.headers["Location"]).text
    request = the_request(app)
    assert (request.state, request.amount, request.requested_by_id) == (
        AdjustmentState.PENDING,
        D("2500.0000"),
        people["maker"],
    )
    assert manual_entries(app) == [] and balances(app, people["lin"]) == {}

    # The maker cannot approve their own: no button, and a post is refused.
    queue = maker.get("/admin/adjustments").get_data(as_text=True)
    assert f'id="adjustment-{request.id}"' in queue and "another staff member" in queue
    assert f"/admin/adjustments/{request.id}/approve" not in queue
    own = decide(maker, request.id, "approve", confirmed="1")
    assert own.status_code == 409 and "another staff member must approve" in own.text
    assert manual_entries(app) == []

    checker = signed_in(app, "checker@shop.example")
    detail = checker.get(f"/admin/distributors/{people['lin']}").get_data(as_text=True)
    assert "Adjustments waiting for approval" in detail and "Campaign prize" in detail
    question = decide(checker, request.id, "approve")
    assert question.headers["HX-Retarget"] == "#confirm-dialog"
    assert "Approve the adjustment of $2,500.00 for Lin Mei?" in question.text
    assert "maker@shop.example" in question.text and "checker@shop.example" in question.text
    assert manual_entries(app) == []
    approved = decide(checker, request.id, "approve", confirmed="1")
    assert approved.status_code == 200 and "Approved and booked" in approved.text
    assert "<html" not in approved.text
    assert manual_entries(app) == [D("2500.00")]
    assert balances(app, people["lin"]) == {Bucket.AVAILABLE: D("2500.00")}

    again = decide(signed_in(app, "admin@shop.example"), request.id, "approve", confirmed="1")
    assert again.status_code == 409 and "already decided" in again.text
    assert manual_entries(app) == [D("2500.00")]
    assert actions(app)[-2:] == ["adjustment.request", "adjustment.approve"]
    with app.app_context():
        approval = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "adjustment.approve")
        )
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "manual"))
    assert (approval.actor_id, approval.after["requested_by"]) == (
        people["checker"],
        people["maker"],
    )
    assert entry.reference == f"manual:{approval.id} Campaign prize"
    assert verify(app) == []


def test_a_rejection_books_nothing_and_needs_a_reason(app: Flask, people) -> None:
    maker = signed_in(app, "maker@shop.example")
    adjust(maker, people["lin"], "-3000", "Clawback", confirmed="1")
    request = the_request(app)
    checker = signed_in(app, "checker@shop.example")
    missing = decide(checker, request.id, "reject", confirmed="1")
    assert missing.status_code == 409 and "Give a reason" in missing.text
    asked = decide(checker, request.id, "reject", note="Wrong distributor")
    assert "Reject the adjustment of -$3,000.00 for Lin Mei?" in asked.text
    rejected = decide(checker, request.id, "reject", note="Wrong distributor", confirmed="1")
    assert rejected.status_code == 200 and "Wrong distributor" in rejected.text
    assert the_request(app).state is AdjustmentState.REJECTED
    assert manual_entries(app) == []
    assert decide(checker, request.id, "approve", confirmed="1").status_code == 409
    assert actions(app)[-2:] == ["adjustment.request", "adjustment.reject"]
    # The maker may withdraw their own request the same way.
    adjust(maker, people["lin"], "1500", "Typo", confirmed="1")
    with app.app_context():
        second = db.session.scalar(select(func.max(AdjustmentRequest.id)))
    withdrawn = decide(maker, second, "reject", note="Meant 150", confirmed="1")
    assert withdrawn.status_code == 200
    assert manual_entries(app) == []


def test_ops_have_a_limit_admins_set_and_absurd_amounts_are_field_errors(
    app: Flask, people, make_user
) -> None:
    maker = signed_in(app, "maker@shop.example")
    over = adjust(maker, people["lin"], "-5000.01", "Too much")
    assert over.status_code == 400
    assert 'id="amount-error"' in over.text and "Ops can adjust at most $5,000.00" in over.text
    confirmed_anyway = adjust(maker, people["lin"], "-5000.01", "Too much", confirmed="1")
    assert confirmed_anyway.status_code == 400
    for absurd in ("-999999999999", "1e30", "99999999999999999999999", "Infinity", "1e-9"):
        refused = adjust(maker, people["lin"], absurd, "Oops", confirmed="1")
        assert refused.status_code == 400, absurd
        assert 'id="amount-error"' in refused.text, absurd
    admin = signed_in(app, "admin@shop.example")
    huge = adjust(admin, people["lin"], "1000000000", "Oops", confirmed="1")
    assert huge.status_code == 400 and "too large" in huge.text
    with app.app_context():
        assert db.session.scalar(select(func.count(AdjustmentRequest.id))) == 0
    # An admin may ask for more than the ops limit; ops cannot approve it, an admin can.
    assert adjust(admin, people["lin"], "7000", "Annual bonus", confirmed="1").status_code == 302
    request = the_request(app)
    checker = signed_in(app, "checker@shop.example")
    refused = decide(checker, request.id, "approve", confirmed="1")
    assert refused.status_code == 409 and "an admin must approve" in refused.text
    make_user("admin2@shop.example", Role.ADMIN)
    second = signed_in(app, "admin2@shop.example")
    assert decide(second, request.id, "approve", confirmed="1").status_code == 200
    assert manual_entries(app) == [D("7000.00")]
    assert verify(app) == []


def test_two_approvals_at_once_book_once(app: Flask, people, make_user) -> None:
    """Two checkers press Approve at the same moment, on separate database connections
    (two sessions in two threads; on PostgreSQL two real connections): one books."""
    other = make_user("checker2@shop.example", Role.OPS)
    with app.app_context():
        maker = db.session.get(User, people["maker"])
        request = adjustments.submit(people["lin"], D("4000"), "Race", maker)
        db.session.commit()
        request_id = request.id
    outcomes: list[str] = []

    def approve(checker_id: int):
        def run() -> None:
            actor = db.session.get(User, checker_id)
            try:
                adjustments.approve(request_id, actor)
                db.session.commit()
                outcomes.append("booked")
            except ServiceError:  # the maker, or decided already
                outcomes.append("refused")
            finally:
                db.session.remove()

        return run

    assert run_together(app, approve(people["checker"]), approve(other)) == []
    assert sorted(outcomes) == ["booked", "refused"]
    assert manual_entries(app) == [D("4000.00")]
    assert actions(app).count("adjustment.approve") == 1
    assert verify(app) == []
