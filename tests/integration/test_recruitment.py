"""The three ways to join (apply, invite link, admin add) and the approval queue."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from tests.helpers import PASSWORD, choose_password, csrf_token, link_in, login


def apply_form(client, path: str = "/join", **overrides: str):
    data = {
        "display_name": "Lin Xiaoyu",
        "email": "lin@shop.example",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "role": "group_leader",
        "note": "I run a WeChat group of 300 neighbours.",
        "csrf_token": csrf_token(client, path),
    }
    data.update(overrides)
    return client.post(path, data=data)


def distributor_by_email(app: Flask, email: str) -> Distributor | None:
    with app.app_context():
        d = db.session.scalar(select(Distributor).join(Distributor.user).where(User.email == email))
        if d is not None:
            db.session.expunge(d)
        return d


@pytest.fixture
def staff(app: Flask, make_user) -> FlaskClient:
    """An ops user's browser, signed in."""
    make_user("ops@shop.example", Role.OPS)
    client = app.test_client()
    assert login(client, "ops@shop.example").status_code == 302
    return client


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count(User.id))),
            db.session.scalar(select(func.count(Distributor.id))),
        )


def test_application_then_approval_then_dashboard(app: Flask, client, staff) -> None:
    response = apply_form(client)
    assert response.status_code == 302 and response.headers["Location"] == "/me/"
    pending = client.get("/me/").get_data(as_text=True)
    assert "waiting for review" in pending
    applicant = distributor_by_email(app, "lin@shop.example")
    assert applicant.status is DistributorStatus.APPLIED
    assert applicant.role is DistributorRole.GROUP_LEADER
    assert codes.is_well_formed(applicant.code)
    assert applicant.parent_id is None and applicant.joined_at is None

    queue = staff.get("/admin/distributors/applications").get_data(as_text=True)
    assert "Lin Xiaoyu" in queue and "300 neighbours" in queue
    response = staff.post(
        f"/admin/distributors/{applicant.id}/approve",
        data={"csrf_token": csrf_token(staff, "/admin/")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="application-{applicant.id}"')
    assert "<html" not in row and "Active" in row
    assert "HX-Request" in response.headers["Vary"]

    approved = distributor_by_email(app, "lin@shop.example")
    assert approved.status is DistributorStatus.ACTIVE and approved.joined_at is not None
    fresh = app.test_client()
    assert login(fresh, "lin@shop.example").status_code == 302
    home = fresh.get("/me/").get_data(as_text=True)
    assert approved.code in home and f"http://localhost/join/{approved.code}" in home
    app.config["PORTAL_BASE_URL"] = "https://partners.shop.example"
    try:
        home = fresh.get("/me/").get_data(as_text=True)
        assert f"https://partners.shop.example/join/{approved.code}" in home
    finally:
        app.config["PORTAL_BASE_URL"] = ""
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
        assert entry.action == "distributor.approve" and entry.target_id == str(applicant.id)


def test_reject_without_htmx_redirects_and_shows_the_reason(app, client, staff) -> None:
    apply_form(client)
    applicant = distributor_by_email(app, "lin@shop.example")
    url = f"/admin/distributors/{applicant.id}/reject"
    form = {"csrf_token": csrf_token(staff, "/admin/"), "reason": "Not in our region"}
    asked = staff.post(url, data=form)  # the confirm step first, nothing changes yet
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<html" in page
    assert "Reject the application of" in page and "lin@shop.example" in page
    assert 'name="confirmed" value="1"' in page and 'value="Not in our region"' in page
    assert 'href="/admin/distributors/applications"' in page  # Cancel, without JavaScript
    assert distributor_by_email(app, "lin@shop.example").status is DistributorStatus.APPLIED
    response = staff.post(url, data={**form, "confirmed": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/distributors/applications"
    assert "was rejected" in staff.get(response.headers["Location"]).get_data(as_text=True)
    assert distributor_by_email(app, "lin@shop.example").status is DistributorStatus.REJECTED
    assert "Not in our region" in client.get("/me/").get_data(as_text=True)


def test_a_reviewed_application_cannot_be_reviewed_again(app, client, staff) -> None:
    apply_form(client)
    applicant = distributor_by_email(app, "lin@shop.example")
    token = csrf_token(staff, "/admin/")
    url = f"/admin/distributors/{applicant.id}"
    assert staff.post(url + "/approve", data={"csrf_token": token}).status_code == 302
    again = staff.post(url + "/reject", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "already reviewed" in again.get_data(as_text=True)
    assert distributor_by_email(app, "lin@shop.example").status is DistributorStatus.ACTIVE
    missing = staff.post("/admin/distributors/999999/approve", data={"csrf_token": token})
    assert missing.status_code == 404


def test_open_recruitment_mode(app, admin_client) -> None:
    token = csrf_token(admin_client, "/admin/settings")
    response = admin_client.post(
        "/admin/settings",
        data={
            "csrf_token": token,
            "recruitment_mode": "open",
            "recruitment_threshold": "100",
            "default_locale": "en",
            "currency": "usd",
            "return_window_days": "7",
            "binding_days": "30",
            "max_depth": "3",
            "self_purchase": "uplines_only",
            "min_withdrawal": "10",
            "withdrawal_fee_percent": "0",
            "withdrawal_fee_fixed": "0",
            "withdrawal_daily_limit": "0",
            "withdrawal_auto_approve_below": "0",
            "adjustment_approval_above": "1000",
            "adjustment_limit_ops": "10000",
            "risk_self_purchase": "y",
            "risk_same_device": "ip",
            "risk_team_loop": "y",
            "risk_velocity_per_hour": "0",
            "risk_large_order": "0",
            "coupon_percent": "10",
            "coupon_usage_limit": "0",
            "coupon_usage_limit_per_user": "0",
            "coupon_valid_days": "0",
            "store_credit_bonus_percent": "0",
            "paypal_sandbox": "y",
        },
    )
    assert response.status_code == 302
    visitor = app.test_client()
    apply_form(visitor)
    assert distributor_by_email(app, "lin@shop.example").status is DistributorStatus.ACTIVE
    assert "Referral code" in visitor.get("/me/").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "setting.update")
        ).one()
        assert entry.before == {"value": "apply"} and entry.after == {"value": "open"}


def test_invite_link_places_the_recruit_under_the_parent(app, client, make_distributor) -> None:
    parent_id, parent_code = make_distributor("parent@shop.example", name="Aunt Mei")
    page = client.get(f"/join/{parent_code.lower()}").get_data(as_text=True)
    assert "Aunt Mei invited you" in page
    response = apply_form(client, f"/join/{parent_code.lower()}", email="kid@shop.example")
    assert response.status_code == 302
    recruit = distributor_by_email(app, "kid@shop.example")
    assert recruit.parent_id == parent_id
    # and a grandchild through the child's link once the child is active
    with app.app_context():
        db.session.get(Distributor, recruit.id).status = DistributorStatus.ACTIVE
        db.session.commit()
    other = app.test_client()
    apply_form(other, f"/join/{recruit.code}", email="grandkid@shop.example")
    assert distributor_by_email(app, "grandkid@shop.example").parent_id == recruit.id


def test_unknown_or_inactive_invite_code_is_a_clear_page(app, client, make_distributor) -> None:
    for code in ("NOPE99", "0OIL1X", "x" * 300):
        response = client.get(f"/join/{code}")
        assert response.status_code == 404
        assert "invite link is not valid" in response.get_data(as_text=True)
    _, pending_code = make_distributor("pending@shop.example", status=DistributorStatus.APPLIED)
    assert client.get(f"/join/{pending_code}").status_code == 404
    before = counts(app)
    response = client.post(
        f"/join/{pending_code}",
        data={
            "csrf_token": csrf_token(client, "/join"),
            "display_name": "X Y",
            "email": "sneaky@shop.example",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "role": "affiliate",
        },
    )
    assert response.status_code == 404
    assert counts(app) == before


def test_duplicate_email_is_a_field_error_and_writes_nothing(app, client, make_user) -> None:
    make_user("taken@shop.example")
    before = counts(app)
    response = apply_form(client, email="TAKEN@shop.example")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "An account with this email already exists." in html
    assert 'id="email-error"' in html
    assert counts(app) == before


def test_invalid_application_re_renders_with_errors(app, client) -> None:
    before = counts(app)
    response = apply_form(
        client, display_name="", email="nope", password="short", confirm="other", role="boss"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("display_name", "email", "password", "confirm", "role"):
        assert f'id="{field}-error"' in html, field
    assert counts(app) == before


def test_admin_adds_a_distributor_under_a_parent(
    app, admin_client, make_distributor, outbox
) -> None:
    """No password is typed by staff: the person chooses it from an emailed invitation."""
    parent_id, parent_code = make_distributor("boss@shop.example")
    token = csrf_token(admin_client, "/admin/distributors/new")
    data = {
        "display_name": "Agent Zhou",
        "email": "zhou@shop.example",
        "role": "agent",
        "level_id": "0",
        "parent_code": " " + parent_code.lower(),
        "csrf_token": token,
    }
    bad = admin_client.post("/admin/distributors/new", data={**data, "parent_code": "ZZZZZZ"})
    assert bad.status_code == 400
    assert "No active distributor has this code." in bad.get_data(as_text=True)
    assert distributor_by_email(app, "zhou@shop.example") is None
    response = admin_client.post("/admin/distributors/new", data=data)
    assert response.status_code == 302
    added = distributor_by_email(app, "zhou@shop.example")
    assert added.status is DistributorStatus.ACTIVE and added.parent_id == parent_id
    assert added.role is DistributorRole.AGENT
    listing = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Agent Zhou" in listing and added.code in listing
    assert login(app.test_client(), "zhou@shop.example").status_code == 401  # no password yet
    (invitation,) = outbox()
    assert invitation["To"] == "zhou@shop.example"
    assert invitation["Subject"] == "Choose your password"
    person = app.test_client()
    assert choose_password(person, link_in(invitation)).status_code == 302
    assert login(person, "zhou@shop.example").status_code == 302


def test_codes_are_unique_across_many_recruits(app, client, make_distributor) -> None:
    made = {make_distributor(f"d{i}@shop.example")[1] for i in range(5)}
    for i in range(5):
        apply_form(app.test_client(), email=f"a{i}@shop.example")
    with app.app_context():
        all_codes = list(db.session.scalars(select(Distributor.code)))
    assert len(all_codes) == len(set(all_codes)) == 10
    assert made <= set(all_codes)
    assert all(codes.is_well_formed(c) for c in all_codes)


def test_applications_list_is_a_partial_for_htmx(app, admin_client, make_distributor) -> None:
    for i in range(30):
        make_distributor(f"p{i}@shop.example", status=DistributorStatus.APPLIED, name=f"P{i}")
    full = admin_client.get("/admin/distributors/applications")
    partial = admin_client.get(
        "/admin/distributors/applications?page=2", headers={"HX-Request": "true"}
    )
    assert "<html" in full.get_data(as_text=True)
    body = partial.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<div id="applications">')
    assert "Page 2 of 2" in body
    for response in (full, partial):
        assert "HX-Request" in response.headers["Vary"]


def test_distributor_list_filters_and_avoids_n_plus_one(
    app, admin_client, make_distributor
) -> None:
    from sqlalchemy import event

    parent_id, _ = make_distributor("top@shop.example")
    for i in range(20):
        make_distributor(f"m{i}@shop.example", parent_id=parent_id)
    make_distributor("wait@shop.example", status=DistributorStatus.APPLIED, name="Waiting One")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = admin_client.get("/admin/distributors").get_data(as_text=True)
        first = len(statements)
        statements.clear()
        admin_client.get("/admin/distributors?page=1&status=applied")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "Page 1 of 1" not in page  # 22 rows fit one page of 25: no pager
    assert first <= 8, statements
    filtered = admin_client.get("/admin/distributors?status=applied").get_data(as_text=True)
    assert "Waiting One" in filtered and "m0@shop.example" not in filtered
