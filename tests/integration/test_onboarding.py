"""The first-visit checklist on the dashboard (#17 item 2): each step ticks itself off
from what the distributor really did, recorded on the server — the copy button's post,
downloading a QR code, share card or material poster, opening the materials library,
having a payout account — and only for that distributor."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.catalogue.models import Product
from portal.extensions import db
from portal.onboarding import OnboardingStep
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import PayoutMethod
from tests.helpers import csrf_token, login, run_together


@pytest.fixture
def store(app: Flask) -> Iterator[Flask]:
    saved = {key: app.config[key] for key in ("WOO_STORE_URL", "PORTAL_BASE_URL")}
    app.config.update(WOO_STORE_URL="https://shop.example/", PORTAL_BASE_URL="https://p.example")
    with app.app_context():
        db.session.add(Product(product_id="93", name="Tea", price="19.90", category_ids=[]))
        db.session.commit()
    yield app
    app.config.update(saved)


def checklist(client: FlaskClient) -> dict[str, bool] | None:
    """Step → done, as the dashboard shows it (None: no checklist on the page)."""
    html = client.get("/me/").get_data(as_text=True)
    if 'id="checklist-h"' not in html:
        return None
    return {
        step: "done" in (cls or "")
        for step, cls in re.findall(r'<li data-step="([a-z_]+)"(?: class="([^"]*)")?', html)
    }


def beacon(client: FlaskClient, headers: dict[str, str] | None = None):
    token = csrf_token(client, "/me/links")
    return client.post("/me/onboarding/copied", headers={"X-CSRFToken": token, **(headers or {})})


def test_each_step_ticks_off_from_the_real_action(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, _ = make_distributor("new@shop.example")
    assert login(client, "new@shop.example").status_code == 302
    assert checklist(client) == dict.fromkeys(
        ("copy_link", "save_poster", "payout_account", "materials"), False
    )
    links = client.get("/me/links").get_data(as_text=True)
    # The copy buttons post the beacon alongside the copy (htmx, CSRF in its headers).
    assert links.count('hx-post="/me/onboarding/copied"') == 3  # shop, product, invite

    assert beacon(client, {"HX-Request": "true"}).status_code == 204
    assert client.get("/me/links/p/93/card.png").status_code == 200
    assert checklist(client) == {
        "copy_link": True,
        "save_poster": True,
        "payout_account": False,
        "materials": False,
    }
    assert client.get("/me/materials").status_code == 200
    with store.app_context():
        account_id = withdrawals.add_account(
            distributor_id, PayoutMethod.PAYPAL, "Jane", "jane@example.com", None
        ).id
    assert checklist(client) is None  # all four done: the card goes away

    with store.app_context():  # the account is what counts: removing it un-ticks the step
        withdrawals.remove_account(distributor_id, account_id)
    assert checklist(client) == {
        "copy_link": True,
        "save_poster": True,
        "payout_account": False,
        "materials": True,
    }


def test_a_step_is_recorded_once_even_in_a_race(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    distributor_id, _ = make_distributor("new@shop.example")
    assert login(client, "new@shop.example").status_code == 302
    token = csrf_token(client, "/me/links")

    def copy() -> None:
        other = store.test_client()
        login(other, "new@shop.example")
        assert (
            other.post(
                "/me/onboarding/copied", headers={"X-CSRFToken": csrf_token(other, "/me/links")}
            ).status_code
            == 204
        )

    assert not run_together(store, copy, copy, copy)
    assert client.post("/me/onboarding/copied", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/me/links/qr.png").status_code == 200
    assert client.get("/me/links/invite-qr.png").status_code == 200
    with store.app_context():
        rows = db.session.execute(
            select(OnboardingStep.step, func.count())
            .where(OnboardingStep.distributor_id == distributor_id)
            .group_by(OnboardingStep.step)
        ).all()
    assert sorted(rows) == [("copy_link", 1), ("save_poster", 1)]


def test_the_beacon_needs_csrf_and_a_distributor(
    store: Flask, client: FlaskClient, make_distributor, admin_client
) -> None:
    assert admin_client.post("/me/onboarding/copied").status_code in (400, 403)
    make_distributor("new@shop.example")
    other = store.test_client()
    assert login(other, "new@shop.example").status_code == 302
    assert other.post("/me/onboarding/copied").status_code == 400  # no CSRF token


def test_steps_are_each_distributors_own(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    make_distributor("a@shop.example")
    make_distributor("b@shop.example")
    assert login(client, "a@shop.example").status_code == 302
    assert beacon(client).status_code == 204
    other = store.test_client()
    assert login(other, "b@shop.example").status_code == 302
    assert checklist(other)["copy_link"] is False
    assert checklist(client)["copy_link"] is True


def test_no_checklist_before_the_account_is_active(
    store: Flask, client: FlaskClient, make_distributor
) -> None:
    from portal.distributors.models import DistributorStatus

    make_distributor("applied@shop.example", status=DistributorStatus.APPLIED)
    assert login(client, "applied@shop.example").status_code == 302
    assert checklist(client) is None
