"""Group-buy rounds (#20 item 3): ops open a round of catalogue products with a deadline,
a leader copies the group message (deadline, products with their links, the pickup
point), sees what their group bought per product — what to order from the shop once it
closes — and filters the pick list by the round. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.catalogue.models import Product
from portal.distributors.models import Distributor, DistributorRole
from portal.extensions import db
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData, Referral
from portal.pickup.models import GroupRound, PickupPoint, PointStatus
from portal.timeutil import utcnow
from tests.helpers import csrf_token, login

NOW = utcnow().replace(microsecond=0)
OPENS, CLOSES = NOW - timedelta(days=2), NOW - timedelta(hours=1)


@pytest.fixture
def programme(app: Flask, make_distributor, make_user) -> dict[str, int | str]:
    leader_id, code = make_distributor("lena@shop.example", name="Lena")
    other_id, other_code = make_distributor("olga@shop.example", name="Olga")
    make_user("ops@shop.example")
    with app.app_context():
        for distributor_id in (leader_id, other_id):
            db.session.get(Distributor, distributor_id).role = DistributorRole.GROUP_LEADER
        db.session.add_all(
            [
                Product(
                    product_id="501",
                    name="Lychee box",
                    price="39.00",
                    category_ids=[],
                    permalink="https://shop.example/p/501",
                ),
                Product(
                    product_id="502",
                    name="Mango crate",
                    price="59.00",
                    category_ids=[],
                    permalink="https://shop.example/p/502",
                ),
                Product(product_id="503", name="Tea", price="19.00", category_ids=[]),
            ]
        )
        point = PickupPoint(
            distributor_id=leader_id,
            name="Gate 2",
            address="18 Garden Road",
            hours="9–20",
            status=PointStatus.APPROVED,
        )
        db.session.add(point)
        db.session.commit()
        point_id = point.id
    return {
        "leader": leader_id,
        "code": code,
        "other": other_id,
        "other_code": other_code,
        "point": point_id,
    }


def ops(app: Flask) -> FlaskClient:
    client = app.test_client()
    login(client, "ops@shop.example")
    return client


def open_round(client: FlaskClient, **changes: str) -> object:
    data = {
        "title": "Summer fruit",
        "product_ids": "501, 502",
        "opens_at": OPENS.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": CLOSES.strftime("%Y-%m-%dT%H:%M"),
        "leader_code": "",
        **changes,
    }
    return client.post(
        "/admin/rounds", data={**data, "csrf_token": csrf_token(client, "/admin/rounds")}
    )


def order(
    n: int,
    leader_id: int,
    point_id: int,
    at: datetime,
    lines: list[tuple[str, int]],
    status: str = "processing",
) -> int:
    stored = orders.store_order(
        OrderData(
            shop_order_id=str(8000 + n),
            number=str(8000 + n),
            status=status,
            currency="USD",
            created_at=at,
            modified_at=at,
            lines=tuple(
                LineData(str(i), pid, qty, D("10.00") * qty)
                for i, (pid, qty) in enumerate(lines, 1)
            ),
            attribution=Attribution(leader_id, "pickup", {"pickup_point": point_id}),
            referral=Referral(pickup_code="X", pickup_point=point_id, pickup_buyer=f"Buyer{n} Q."),
        )
    )
    return stored.order_id


def test_ops_open_a_round_of_catalogue_products(app: Flask, programme) -> None:
    client = ops(app)
    unknown = open_round(client, product_ids="501, 999")
    assert unknown.status_code == 400 and "Not in the catalogue: 999" in unknown.get_data(
        as_text=True
    )
    backwards = open_round(client, closes_at=(OPENS - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert backwards.status_code == 400 and "after the start" in backwards.get_data(as_text=True)
    nobody = open_round(client, leader_code="ZZZZZZ")
    assert nobody.status_code == 400 and "No active distributor" in nobody.get_data(as_text=True)
    assert open_round(client).status_code == 302
    with app.app_context():
        found = db.session.scalar(select(GroupRound))
        assert (found.product_ids, found.leader_id) == (["501", "502"], None)
        assert found.closes_at == CLOSES.replace(second=0)
    assert "Summer fruit" in client.get("/admin/rounds").get_data(as_text=True)
    leader = app.test_client()
    login(leader, "lena@shop.example")
    assert leader.get("/admin/rounds").status_code == 403


def test_the_leader_copies_the_message_and_sees_what_to_order(app: Flask, programme) -> None:
    open_round(ops(app))
    leader_id, point_id = programme["leader"], programme["point"]
    with app.app_context():
        round_id = db.session.scalar(select(GroupRound.id))
        inside = OPENS + timedelta(hours=3)
        order(1, leader_id, point_id, inside, [("501", 2), ("503", 1)])
        order(2, leader_id, point_id, inside + timedelta(hours=1), [("501", 1), ("502", 4)])
        order(3, leader_id, point_id, inside, [("502", 9)], status="pending")  # not paid
        order(4, leader_id, point_id, OPENS - timedelta(hours=1), [("501", 5)])  # before
        order(5, programme["other"], point_id, inside, [("501", 7)])  # another leader's
        db.session.commit()
    client = app.test_client()
    login(client, "lena@shop.example")
    home = client.get("/me/pickup").get_data(as_text=True)
    assert "Summer fruit" in home and "Closed: order from the shop" in home
    page = client.get(f"/me/pickup/rounds/{round_id}").get_data(as_text=True)
    assert "What to order from the shop" in page
    assert f"/r/{programme['code']}/p/501" in page and "Lychee box" in page
    assert "Gate 2, 18 Garden Road" in page
    with app.app_context():
        from portal.pickup import rounds

        totals = {
            t.product_id: (t.qty, t.orders)
            for t in rounds.totals(db.session.get(GroupRound, round_id), leader_id)
        }
    assert totals == {"501": (3, 2), "502": (4, 1)}
    picks = client.get(f"/me/pickup?round={round_id}").get_data(as_text=True)
    assert "Buyer1 Q." in picks and "Buyer2 Q." in picks and "Buyer4 Q." not in picks
    assert "Buyer4 Q." in client.get("/me/pickup").get_data(as_text=True)


def test_a_leaders_own_round_is_only_theirs(app: Flask, programme) -> None:
    open_round(ops(app), leader_code=str(programme["other_code"]))
    with app.app_context():
        round_id = db.session.scalar(select(GroupRound.id))
    client = app.test_client()
    login(client, "lena@shop.example")
    assert client.get(f"/me/pickup/rounds/{round_id}").status_code == 404
    assert "Summer fruit" not in client.get("/me/pickup").get_data(as_text=True)
    olga = app.test_client()
    login(olga, "olga@shop.example")
    assert olga.get(f"/me/pickup/rounds/{round_id}").status_code == 200
    assert olga.get(f"/me/pickup?round={round_id}").status_code == 200


def test_an_open_round_shows_its_deadline_and_what_was_bought_so_far(app: Flask, programme) -> None:
    open_round(ops(app), closes_at=(NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    with app.app_context():
        round_id = db.session.scalar(select(GroupRound.id))
    client = app.test_client()
    login(client, "lena@shop.example")
    page = client.get(f"/me/pickup/rounds/{round_id}").get_data(as_text=True)
    assert "Bought so far" in page and "Order by" in page
    assert datetime.now(UTC) < NOW + timedelta(days=1)


def test_a_leaders_poster_says_by_when_to_order(app: Flask, programme) -> None:
    """The share poster of a product in an open round carries the round's deadline."""
    open_round(ops(app), closes_at=(NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    from portal.links import poster_services

    with app.test_request_context():
        leader = db.session.get(Distributor, programme["leader"])
        in_round = db.session.scalar(select(Product).where(Product.product_id == "501"))
        other = db.session.scalar(select(Product).where(Product.product_id == "503"))
        assert "order by" in poster_services.product_texts(leader, in_round).name
        assert "order by" not in poster_services.product_texts(leader, other).name


def test_a_leader_opens_a_round_for_their_group_when_the_shop_allows(app: Flask, programme) -> None:
    client = app.test_client()
    login(client, "lena@shop.example")
    deadline = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "Lychee Friday", "product_ids": "501", "closes_at": deadline}
    refused = client.post(
        "/me/pickup/rounds", data={**data, "csrf_token": csrf_token(client, "/me/pickup")}
    )
    assert refused.status_code == 404  # the setting is off
    assert "Open a round for my group" not in client.get("/me/pickup").get_data(as_text=True)
    with app.app_context():
        from portal.accounts.models import User
        from portal.settings import services as settings

        settings.update(
            {"leader_rounds": True},
            db.session.scalar(select(User).where(User.email == "ops@shop.example")),
        )
        db.session.commit()
    token = csrf_token(client, "/me/pickup")
    bad = client.post("/me/pickup/rounds", data={**data, "product_ids": "999", "csrf_token": token})
    assert bad.status_code == 400 and "Not in the catalogue: 999" in bad.get_data(as_text=True)
    assert client.post("/me/pickup/rounds", data={**data, "csrf_token": token}).status_code == 302
    with app.app_context():
        found = db.session.scalar(select(GroupRound).where(GroupRound.title == "Lychee Friday"))
        assert found.leader_id == programme["leader"] and found.product_ids == ["501"]
    olga = app.test_client()
    login(olga, "olga@shop.example")  # a leader without a pickup point
    assert (
        olga.post(
            "/me/pickup/rounds", data={**data, "csrf_token": csrf_token(olga, "/me/pickup")}
        ).status_code
        == 404
    )
    assert "Lychee Friday" not in olga.get("/me/pickup").get_data(as_text=True)
