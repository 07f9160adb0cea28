"""Recruitment modes (apply, open, every buyer, spend threshold), the team a newcomer joins
whichever way they arrive, and the distributor terms they accept."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.distributors import services as distributors
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db
from portal.join import buyers
from portal.orders.models import CustomerBinding, Order
from portal.settings import services as settings
from portal.timeutil import utcnow
from tests.helpers import PASSWORD, choose_password, csrf_token, link_in, login

_ids = count(1)


def configure(app: Flask, **values: Any) -> None:
    with app.app_context():
        settings.update(values, None)
        db.session.commit()


def order(
    app: Flask,
    email: str,
    net: str,
    status: str = "completed",
    distributor_id: int | None = None,
    currency: str = "USD",
    days_ago: int = 1,
) -> None:
    at = utcnow() - timedelta(days=days_ago)
    with app.app_context():
        db.session.add(
            Order(
                shop_order_id=str(next(_ids)),
                status=status,
                currency=currency,
                customer_email=email,
                customer_id=None,
                net_total=Decimal(net),
                created_at_shop=at,
                modified_at_shop=at,
                distributor_id=distributor_id,
            )
        )
        db.session.commit()


def run_job(app: Flask) -> int:
    with app.app_context():
        return buyers.recruit_buyers()


def distributor(app: Flask, email: str) -> Distributor | None:
    with app.app_context():
        found = db.session.scalar(
            select(Distributor).join(Distributor.user).where(User.email == email)
        )
        if found is not None:
            db.session.expunge(found)
        return found


def distributor_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Distributor.id))) or 0


def apply_form(client, path: str = "/join", **overrides: str):
    data = {
        "display_name": "Lin Xiaoyu",
        "email": "lin@shop.example",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "role": "affiliate",
        "csrf_token": csrf_token(client, path),
    }
    data.update(overrides)
    return client.post(path, data={k: v for k, v in data.items() if v is not None})


# --- apply and open ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        ("apply", DistributorStatus.APPLIED),
        ("open", DistributorStatus.ACTIVE),
        ("every_buyer", DistributorStatus.APPLIED),
        ("spend_threshold", DistributorStatus.APPLIED),
    ],
)
def test_the_mode_decides_what_an_application_becomes(app, client, mode, status) -> None:
    configure(app, recruitment_mode=mode)
    assert apply_form(client).status_code == 302
    applicant = distributor(app, "lin@shop.example")
    assert applicant.status is status
    assert (applicant.joined_at is not None) is (status is DistributorStatus.ACTIVE)


def test_buyers_become_nobody_in_the_application_modes(app) -> None:
    order(app, "buyer@example.com", "500")
    for mode in ("apply", "open"):
        configure(app, recruitment_mode=mode)
        assert run_job(app) == 0
    assert distributor_count(app) == 0


# --- every buyer ------------------------------------------------------------------------


def test_every_buyer_a_paid_order_makes_an_invited_distributor_once(
    app, outbox, make_distributor
) -> None:
    seller_id, _code = make_distributor("seller@shop.example")
    configure(app, recruitment_mode="every_buyer")
    order(app, "buyer@example.com", "12.50", distributor_id=seller_id)
    order(app, "guest@example.com", "3", status="processing")
    order(app, "unpaid@example.com", "80", status="pending")
    order(app, "onhold@example.com", "80", status="on-hold")
    order(app, "refunded@example.com", "80", status="refunded")
    order(app, "fullrefund@example.com", "0")  # completed, then refunded in full
    order(app, "seller@shop.example", "40")  # already a user

    assert run_job(app) == 2
    buyer = distributor(app, "buyer@example.com")
    assert buyer.status is DistributorStatus.ACTIVE and buyer.joined_at is not None
    assert buyer.parent_id == seller_id  # bought through the seller: in their team
    guest = distributor(app, "guest@example.com")
    assert guest.status is DistributorStatus.ACTIVE and guest.parent_id is None
    for email in ("unpaid@", "onhold@", "refunded@", "fullrefund@"):
        assert distributor(app, f"{email}example.com") is None

    assert run_job(app) == 0  # idempotent
    assert distributor_count(app) == 3

    invitations = [m for m in outbox() if m["Subject"] == "Choose your password"]
    assert sorted(m["To"] for m in invitations) == ["buyer@example.com", "guest@example.com"]
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "distributor.recruit_buyer")
        ).first()
        assert entry is not None and entry.actor_id is None

    mail = next(m for m in invitations if m["To"] == "buyer@example.com")
    assert choose_password(app.test_client(), link_in(mail)).status_code == 302
    fresh = app.test_client()
    assert login(fresh, "buyer@example.com").status_code == 302
    assert "Referral code" in fresh.get("/me/").get_data(as_text=True)


def test_one_failing_buyer_does_not_stop_the_others(app, monkeypatch) -> None:
    configure(app, recruitment_mode="every_buyer")
    for name in ("a", "b", "c"):
        order(app, f"{name}@example.com", "10")
    real = distributors.add_buyer

    def flaky(email: str, *args: Any) -> Distributor:
        if email == "b@example.com":
            raise RuntimeError("this customer cannot be added")
        return real(email, *args)

    monkeypatch.setattr(distributors, "add_buyer", flaky)
    assert run_job(app) == 2
    assert distributor(app, "b@example.com") is None
    assert distributor(app, "c@example.com") is not None  # after the failure
    monkeypatch.setattr(distributors, "add_buyer", real)
    assert run_job(app) == 1  # retried next time
    assert distributor_count(app) == 3


def test_the_job_pages_through_more_customers_than_a_batch(app, monkeypatch) -> None:
    monkeypatch.setattr(buyers, "BATCH", 2)
    configure(app, recruitment_mode="every_buyer")
    for n in range(5):
        order(app, f"c{n}@example.com", "1")
    assert run_job(app) == 5
    assert run_job(app) == 0


# --- spend threshold ----------------------------------------------------------------------


def test_spend_threshold_counts_paid_net_goods_up_to_exactly_n(app) -> None:
    configure(app, recruitment_mode="spend_threshold", recruitment_threshold=Decimal("100"))
    order(app, "exact@example.com", "60", days_ago=40)
    order(app, "exact@example.com", "40", status="processing")  # 100 in total: exactly N
    order(app, "short@example.com", "99.99")
    order(app, "refunds@example.com", "99.99")
    order(app, "refunds@example.com", "150", status="refunded")  # refunded: does not count
    order(app, "partial@example.com", "80")  # 120 less a 40 refund
    order(app, "unpaid@example.com", "50")
    order(app, "unpaid@example.com", "50", status="pending")
    order(app, "euros@example.com", "60")
    order(app, "euros@example.com", "60", currency="EUR")  # another currency: not added up

    assert run_job(app) == 1
    assert distributor(app, "exact@example.com").status is DistributorStatus.ACTIVE
    for name in ("short", "refunds", "partial", "unpaid", "euros"):
        assert distributor(app, f"{name}@example.com") is None

    order(app, "short@example.com", "0.01")  # crosses the line now
    assert run_job(app) == 1
    assert distributor(app, "short@example.com") is not None
    assert run_job(app) == 0


# --- the team, whichever way they arrive ------------------------------------------------


def bind(app: Flask, email: str, distributor_id: int, days: int = 30) -> None:
    now = utcnow()
    with app.app_context():
        db.session.add(
            CustomerBinding(
                kind="email",
                customer_key=email,
                distributor_id=distributor_id,
                bound_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
        db.session.commit()


def test_a_bound_customer_who_applies_joins_their_distributor(app, client, make_distributor):
    bound_id, _ = make_distributor("bound@shop.example")
    bind(app, "lin@shop.example", bound_id)
    assert apply_form(client, email="LIN@shop.example ").status_code == 302
    assert distributor(app, "lin@shop.example").parent_id == bound_id


def test_an_expired_binding_places_nobody(app, client, make_distributor) -> None:
    bound_id, _ = make_distributor("bound@shop.example")
    bind(app, "lin@shop.example", bound_id, days=-1)
    assert apply_form(client).status_code == 302
    assert distributor(app, "lin@shop.example").parent_id is None


def test_the_invite_link_wins_over_the_binding(app, client, make_distributor) -> None:
    bound_id, _ = make_distributor("bound@shop.example")
    inviter_id, inviter_code = make_distributor("inviter@shop.example")
    bind(app, "lin@shop.example", bound_id)
    assert apply_form(client, f"/join/{inviter_code}").status_code == 302
    assert distributor(app, "lin@shop.example").parent_id == inviter_id


def test_the_ref_cookie_of_a_short_link_places_the_applicant(
    app, client, make_distributor, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "WOO_STORE_URL", "https://shop.example")
    configure(app, recruitment_mode="open")
    referrer_id, code = make_distributor("referrer@shop.example", name="Aunt Mei")
    response = client.get(f"/r/{code}")
    assert response.status_code == 302
    assert "portal_ref=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Aunt Mei invited you" in client.get("/join").get_data(as_text=True)
    assert apply_form(client).status_code == 302
    assert distributor(app, "lin@shop.example").parent_id == referrer_id


def test_ref_parameter_places_the_applicant(app, client, make_distributor) -> None:
    referrer_id, code = make_distributor("referrer@shop.example")
    _suspended_id, suspended = make_distributor(
        "gone@shop.example", status=DistributorStatus.SUSPENDED
    )
    assert apply_form(client, f"/join?ref={code.lower()}").status_code == 302
    assert distributor(app, "lin@shop.example").parent_id == referrer_id
    other = app.test_client()
    assert apply_form(other, f"/join?ref={suspended}", email="x@shop.example").status_code == 302
    assert distributor(app, "x@shop.example").parent_id is None  # only active ones recruit


def test_a_bound_buyer_joins_the_binding_distributor_over_the_seller(app, make_distributor) -> None:
    seller_id, _ = make_distributor("seller@shop.example")
    bound_id, _ = make_distributor("bound@shop.example")
    configure(app, recruitment_mode="every_buyer")
    order(app, "buyer@example.com", "10", distributor_id=seller_id)
    bind(app, "buyer@example.com", bound_id)
    assert run_job(app) == 1
    assert distributor(app, "buyer@example.com").parent_id == bound_id


# --- the join page: commission terms and the terms checkbox -----------------------------


def test_the_join_page_shows_the_commission_terms(app, client) -> None:
    configure(app, return_window_days=14)
    page = client.get("/join").get_data(as_text=True)
    assert "Commission terms" in page and "14 days" in page
    assert "Affiliate / creator" in page and "No level" in page
    assert 'name="accept_terms"' not in page  # no terms text: no checkbox


TERMS = "# Rules\n\nNo spam. <script>alert(1)</script>"


def test_the_terms_checkbox_is_required_and_its_acceptance_stored(app, client) -> None:
    configure(app, recruitment_terms=TERMS)
    page = client.get("/join").get_data(as_text=True)
    assert "<h1>Rules</h1>" in page and "No spam." in page
    assert "<script>alert(1)</script>" not in page  # rendered safely
    assert 'name="accept_terms"' in page
    version = hashlib.sha256(TERMS.encode()).hexdigest()
    assert f'value="{version}"' in page

    refused = apply_form(client, terms_version=version)
    assert refused.status_code == 400
    assert "Accept the terms" in refused.get_data(as_text=True)
    assert distributor_count(app) == 0

    stale = apply_form(client, accept_terms="y", terms_version="0" * 64)
    assert stale.status_code == 400
    assert "terms changed" in stale.get_data(as_text=True)
    assert distributor_count(app) == 0

    assert apply_form(client, accept_terms="y", terms_version=version).status_code == 302
    applicant = distributor(app, "lin@shop.example")
    assert applicant.terms_version == version
    assert applicant.terms_accepted_at is not None
    assert utcnow() - applicant.terms_accepted_at < timedelta(minutes=5)


def test_without_terms_nothing_is_stored(app, client) -> None:
    assert apply_form(client).status_code == 302
    applicant = distributor(app, "lin@shop.example")
    assert applicant.terms_version is None and applicant.terms_accepted_at is None


# --- who edits what -----------------------------------------------------------------------


def test_ops_edit_the_terms_but_not_the_mode(app, make_user, make_distributor) -> None:
    make_user("ops@shop.example", Role.OPS)
    ops = app.test_client()
    assert login(ops, "ops@shop.example").status_code == 302
    assert ops.get("/admin/settings").status_code == 403
    assert ops.get("/admin/settings/terms").status_code == 200
    token = csrf_token(ops, "/admin/settings/terms")
    saved = ops.post(
        "/admin/settings/terms", data={"csrf_token": token, "recruitment_terms": "Be kind."}
    )
    assert saved.status_code == 302
    with app.app_context():
        assert settings.get("recruitment_terms") == "Be kind."
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == "recruitment_terms")
        ).one()
        assert entry.after == {"value": "Be kind."}
    no_token = ops.post("/admin/settings/terms", data={"recruitment_terms": "x"})
    assert no_token.status_code == 400

    make_distributor("d@shop.example")
    seller = app.test_client()
    assert login(seller, "d@shop.example").status_code == 302
    assert seller.get("/admin/settings/terms").status_code == 403
    forged = seller.post(
        "/admin/settings/terms",
        data={"csrf_token": csrf_token(seller, "/me/"), "recruitment_terms": "x"},
    )
    assert forged.status_code == 403
    anonymous = app.test_client().get("/admin/settings/terms")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    with app.app_context():
        assert settings.get("recruitment_terms") == "Be kind."


def test_admins_choose_the_mode_and_threshold(app, admin_client) -> None:
    from tests.integration.test_settings import post

    saved = post(admin_client, recruitment_mode="spend_threshold", recruitment_threshold="250")
    assert saved.status_code == 302
    with app.app_context():
        assert settings.get("recruitment_mode") == "spend_threshold"
        assert settings.get("recruitment_threshold") == Decimal("250")
    assert post(admin_client, recruitment_mode="everyone").status_code == 400
    assert post(admin_client, recruitment_threshold="-1").status_code == 400
