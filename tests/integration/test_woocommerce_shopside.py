"""The shop side of a distributor, against the loopback shop: personal coupons follow
their distributor's status (disabled in the shop on suspension, restored on
reactivation, a refusal shown and retried), coupons issued in bulk and by distributors
themselves, and distributors linked to their shop customer account so their own orders
are known by customer id as well as by email."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from flask import Flask
from sqlalchemy import select

from plugins.woocommerce_bridge import sync
from portal.accounts.models import Role
from portal.distributors.models import Distributor, DistributorStatus, PersonalCoupon
from portal.extensions import db
from portal.orders import services as orders
from portal.risk.models import RiskFlag
from portal.settings import services as settings
from tests.helpers import csrf_token, login
from tests.woo import API_SECRET, KEY, FakeShop, ShopServer, commission_states, deliver, woo_order


@pytest.fixture
def woo(shop: Flask) -> Iterator[tuple[FakeShop, Flask]]:
    fake = FakeShop()
    with ShopServer(fake) as server:
        shop.config.update(
            WOO_STORE_URL=server.url, WOO_CONSUMER_KEY=KEY, WOO_CONSUMER_SECRET=API_SECRET
        )
        yield fake, shop
    shop.config.update(WOO_STORE_URL="", WOO_CONSUMER_KEY="", WOO_CONSUMER_SECRET="")


def configure(app: Flask, **values: object) -> None:
    with app.app_context():
        settings.update(values, None)  # type: ignore[arg-type]
        db.session.commit()


def coupon_row(app: Flask, code: str) -> PersonalCoupon:
    with app.app_context():
        row = db.session.scalar(select(PersonalCoupon).where(PersonalCoupon.code == code))
        assert row is not None
        db.session.expunge(row)
        return row


def set_status(client, distributor_id: int) -> None:
    page = f"/admin/distributors/{distributor_id}"
    response = client.post(
        f"{page}/status", data={"csrf_token": csrf_token(client, page), "reason": "checks"}
    )
    assert response.status_code == 302


def test_suspension_disables_the_coupon_in_the_shop_and_reactivation_restores_it(
    woo, admin_client, make_distributor
) -> None:
    fake, app = woo
    distributor_id, code = make_distributor("seller@shop.example", name="Seller")
    token = csrf_token(admin_client, "/admin/shop")
    admin_client.post(
        "/admin/shop/coupons",
        data={
            "csrf_token": token,
            "code": code,
            "percent": "15",
            "usage_limit": "100",
            "usage_limit_per_user": "1",
            "valid_until": "2099-12-31",
        },
    )
    in_shop = fake.coupons[code.lower()]
    assert (in_shop["status"], in_shop["usage_limit"], in_shop["usage_limit_per_user"]) == (
        "publish",
        100,
        1,
    )
    assert in_shop["date_expires_gmt"] == "2100-01-01T00:00:00"  # the day after the last day

    set_status(admin_client, distributor_id)  # suspend
    assert in_shop["status"] == "draft"
    assert f"PUT /wp-json/wc/v3/coupons/{in_shop['id']}?" in fake.requests
    assert coupon_row(app, code).synced

    fake.permissions = "read"  # the shop refuses the change: kept, shown, retried
    set_status(admin_client, distributor_id)  # reactivate
    assert in_shop["status"] == "draft"
    row = coupon_row(app, code)
    assert row.active and not row.synced and "write permissions" in row.last_error
    page = admin_client.get(f"/admin/distributors/{distributor_id}").get_data(as_text=True)
    assert "waiting to be restored in the shop" in page and "write permissions" in page
    shop_page = admin_client.get("/admin/shop").get_data(as_text=True)
    assert "1 coupon is not applied in the shop yet" in shop_page

    retried = admin_client.post("/admin/shop/coupons/retry", data={"csrf_token": token})
    assert "still refused: 1" in admin_client.get(retried.headers["Location"]).get_data(
        as_text=True
    )
    fake.permissions = "read_write"
    retried = admin_client.post("/admin/shop/coupons/retry", data={"csrf_token": token})
    assert "Coupons applied in the shop: 1" in admin_client.get(
        retried.headers["Location"]
    ).get_data(as_text=True)
    assert in_shop["status"] == "publish"
    assert coupon_row(app, code).synced and coupon_row(app, code).last_error is None

    fake.permissions = "read"  # suspended while the shop refuses: the reconcile catches up
    set_status(admin_client, distributor_id)
    assert in_shop["status"] == "publish"
    fake.permissions = "read_write"
    with app.app_context():
        sync.reconcile()
    assert in_shop["status"] == "draft" and coupon_row(app, code).synced
    page = admin_client.get(f"/admin/distributors/{distributor_id}").get_data(as_text=True)
    assert "disabled in the shop" in page and "Send to the shop again" not in page


def test_the_distributor_page_retry_sends_the_coupon_again(
    woo, admin_client, make_distributor
) -> None:
    fake, app = woo
    distributor_id, code = make_distributor("seller@shop.example")
    with app.app_context():
        db.session.add(PersonalCoupon(distributor_id=distributor_id, code=code, percent="5"))
        db.session.commit()
    page = f"/admin/distributors/{distributor_id}"
    assert "not in the shop yet" in admin_client.get(page).get_data(as_text=True)
    assert admin_client.post(f"{page}/coupons/retry", data={}).status_code == 400
    admin_client.post(f"{page}/coupons/retry", data={"csrf_token": csrf_token(admin_client, page)})
    assert fake.coupons[code.lower()]["status"] == "publish"
    assert "works in the shop" in admin_client.get(page).get_data(as_text=True)


def test_coupons_issued_in_bulk_each_on_its_own(woo, admin_client, make_distributor) -> None:
    fake, app = woo
    _, first = make_distributor("one@shop.example", name="One")
    _, taken = make_distributor("two@shop.example", name="Two")
    _, third = make_distributor("three@shop.example", name="Three")
    make_distributor("applied@shop.example", status=DistributorStatus.APPLIED)
    fake.coupons[taken.lower()] = {"id": 1, "code": taken}  # made by hand in the shop
    token = csrf_token(admin_client, "/admin/shop")
    form = {"bulk-csrf_token": token, "bulk-percent": "8", "bulk-usage_limit_per_user": "2"}
    response = admin_client.post(
        "/admin/shop/coupons/bulk", data={**form, "bulk-codes": f"{first.lower()}, {taken}\nZZZZZZ"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Issued: 1, not issued: 2" in page
    assert f"Coupon {first} created in the shop." in page
    assert (
        "The coupon code already exists" in page and "No active distributor has this code." in page
    )
    assert fake.coupons[first.lower()]["usage_limit_per_user"] == 2
    everyone = admin_client.post("/admin/shop/coupons/bulk", data={**form, "bulk-everyone": "y"})
    page = everyone.get_data(as_text=True)
    assert f"Coupon {third} created in the shop." in page  # the applicant gets none
    assert "Issued: 1, not issued: 1" in page  # the code the shop has already
    assert admin_client.post("/admin/shop/coupons/bulk", data=form).status_code == 400
    with app.app_context():
        assert set(db.session.scalars(select(PersonalCoupon.code))) == {first, third}


def test_ops_cannot_issue_in_bulk(woo, client, make_user) -> None:
    make_user("ops@shop.example", Role.OPS)
    login(client, "ops@shop.example")
    token = csrf_token(client, "/admin/shop")
    data = {"bulk-csrf_token": token, "bulk-percent": "8", "bulk-everyone": "y"}
    assert client.post("/admin/shop/coupons/bulk", data=data).status_code == 403


def test_distributors_issue_their_own_coupon_when_the_setting_allows(
    woo, client, make_distributor
) -> None:
    fake, app = woo
    _, code = make_distributor("seller@shop.example")
    login(client, "seller@shop.example")
    token = csrf_token(client, "/me/links")
    assert "Get my coupon" not in client.get("/me/links").get_data(as_text=True)
    refused = client.post("/me/links/coupon", data={"csrf_token": token})
    assert "Coupons are issued by the shop" in client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert fake.coupons == {}
    configure(app, coupon_self_issue=True, coupon_percent=D("7.5"), coupon_usage_limit=50)
    configure(app, coupon_usage_limit_per_user=1, coupon_valid_days=30)
    assert "Get my coupon" in client.get("/me/links").get_data(as_text=True)
    assert client.post("/me/links/coupon", data={}).status_code == 400
    done = client.post("/me/links/coupon", data={"csrf_token": token})
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Your coupon is on its way to the shop." in page and code in page
    in_shop = fake.coupons[code.lower()]
    assert (in_shop["amount"], in_shop["usage_limit"], in_shop["usage_limit_per_user"]) == (
        "7.5",
        50,
        1,
    )
    assert in_shop["date_expires_gmt"] is not None
    again = client.post("/me/links/coupon", data={"csrf_token": token})
    assert "already issued" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(fake.coupons) == 1


def test_a_suspended_distributor_cannot_issue_a_coupon(woo, client, make_distributor) -> None:
    _, app = woo
    make_distributor("seller@shop.example", status=DistributorStatus.SUSPENDED)
    configure(app, coupon_self_issue=True)
    login(client, "seller@shop.example")
    token = csrf_token(client, "/me/links")
    assert client.post("/me/links/coupon", data={"csrf_token": token}).status_code == 403


def approve(admin_client, app: Flask, email: str) -> int:
    applicant = app.test_client()
    token = csrf_token(applicant, "/join")
    applicant.post(
        "/join",
        data={
            "csrf_token": token,
            "email": email,
            "password": "a-long-password-1",
            "confirm": "a-long-password-1",
            "display_name": "Applicant",
            "role": "affiliate",
            "agree": "y",
        },
    )
    with app.app_context():
        distributor_id = db.session.scalar(
            select(Distributor.id).join(Distributor.user).where(Distributor.user.has(email=email))
        )
    assert distributor_id is not None
    token = csrf_token(admin_client, "/admin/applications")
    admin_client.post(f"/admin/distributors/{distributor_id}/approve", data={"csrf_token": token})
    return distributor_id


def customer_of(app: Flask, distributor_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Distributor, distributor_id).shop_customer_id


def test_approval_links_the_distributor_to_their_shop_customer(woo, admin_client) -> None:
    fake, app = woo
    customer = fake.add_customer("Linked@Shop.example")
    fake.add_customer("twice@shop.example")
    fake.add_customer("twice@shop.example", role="subscriber")
    linked = approve(admin_client, app, "linked@shop.example")
    assert customer_of(app, linked) == str(customer)
    page = admin_client.get(f"/admin/distributors/{linked}").get_data(as_text=True)
    assert f"shop customer #{customer}" in page
    assert any("/customers?email=linked%40shop.example&role=all" in r for r in fake.requests)
    for email in ("nobody@shop.example", "twice@shop.example"):  # none, or not one
        unlinked = approve(admin_client, app, email)
        assert customer_of(app, unlinked) is None
        page = admin_client.get(f"/admin/distributors/{unlinked}").get_data(as_text=True)
        assert "not linked" in page


def test_the_reconcile_links_unlinked_active_distributors_a_batch_at_a_time(
    woo, make_distributor, monkeypatch
) -> None:
    from plugins.woocommerce_bridge import customers

    fake, app = woo
    ids = [make_distributor(f"d{n}@shop.example")[0] for n in range(3)]
    suspended, _ = make_distributor("s@shop.example", status=DistributorStatus.SUSPENDED)
    found = {d: fake.add_customer(f"d{n}@shop.example") for n, d in enumerate(ids)}
    fake.add_customer("s@shop.example")
    monkeypatch.setattr(customers, "LINK_BATCH", 2)
    with app.app_context():
        sync.reconcile()
    assert [customer_of(app, d) for d in ids] == [str(found[ids[0]]), str(found[ids[1]]), None]
    with app.app_context():
        sync.reconcile()
    assert customer_of(app, ids[2]) == str(found[ids[2]])
    assert customer_of(app, suspended) is None


@pytest.mark.parametrize("by", ["customer id", "email"])
def test_an_own_order_earns_the_buyer_nothing(woo, client, make_distributor, by: str) -> None:
    """The distributor buys with their own coupon, signed in to the shop with another
    billing email (matched by customer id) or as a guest with their email."""
    fake, app = woo
    upline, _ = make_distributor("upline@shop.example", name="Upline")
    seller, code = make_distributor("seller@shop.example", parent_id=upline, name="Seller")
    customer = fake.add_customer("seller@shop.example")
    with app.app_context():
        sync.reconcile()
    assert customer_of(app, seller) == str(customer)
    order = woo_order(31, coupons=[code])
    if by == "customer id":
        order.update(customer_id=customer, billing={"email": "other@mail.example"})
    else:
        order["billing"] = {"email": "Seller@Shop.example"}
    configure(app, risk_self_purchase=False)
    assert deliver(client, "order.created", order).status_code == 200
    assert [(depth, amount) for depth, _, amount in commission_states(app, "31")] == [
        (1, D("0.00")),
        (2, D("5.00")),
    ]
    configure(app, risk_self_purchase=True)
    order["id"] = order["number"] = 32
    assert deliver(client, "order.created", order, delivery="d2").status_code == 200
    with app.app_context():
        stored = orders.find("woocommerce", "32")
        flags = db.session.scalars(select(RiskFlag).where(RiskFlag.order_id == stored.id)).all()
    assert [f.rule for f in flags] == ["self_purchase"]
