"""What a distributor earns, shown where they share (#17 item 1): the estimate on every
product link and in the product search, the rates on the dashboard — all from the
commission engine with the distributor's plan, level and the plan's overrides, and
current after every plan change."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.accounts.models import Role, User
from portal.catalogue.models import Product
from portal.commissions import engine, estimates, plans, services
from portal.commissions.models import CommissionPlan, PlanExclusion, PlanOverride
from portal.distributors.models import Distributor, DistributorRole, Level
from portal.extensions import db
from tests.helpers import login, queries_for


@pytest.fixture
def programme(store: Flask) -> Flask:
    """Affiliates: 10 % own sales, 3 % from direct recruits; product 102 pays 15.00 a
    unit, category "tea" 20 %, product 104 is excluded."""
    with store.app_context():
        plan = CommissionPlan(
            role="affiliate",
            max_depth=2,
            rate_depth1=D("10"),
            rate_depth2=D("3"),
            rate_depth3=D("0"),
            basis="product",
        )
        plan.overrides = [
            PlanOverride(scope="product", target_id="102", depth=1, kind="fixed", value=D("15")),
            PlanOverride(scope="category", target_id="tea", depth=1, kind="percent", value=D(20)),
        ]
        plan.exclusions = [PlanExclusion(product_id="104")]
        db.session.add(plan)
        for product_id, name, price, categories in (
            ("101", "Almond cookies", "45.50", []),
            ("102", "Gift box", "88.00", []),
            ("103", "Longjing green tea", "19.90", ["tea"]),
            ("104", "Shop voucher", "100.00", []),
            ("105", "Sample (price on request)", None, []),
        ):
            db.session.add(
                Product(product_id=product_id, name=name, price=price, category_ids=categories)
            )
        db.session.commit()
    return store


def earn_lines(html: str) -> dict[str, str]:
    """The earn line of each product row, by product id, as text."""
    found = {}
    for product_id, body in re.findall(r'data-earn="([^"]+)">(.*?)</p>', html, re.S):
        found[product_id] = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    return found


def signed_in(client: FlaskClient, make_distributor, email: str = "lin@shop.example") -> int:
    distributor_id, _ = make_distributor(email, name="Lin")
    assert login(client, email).status_code == 302
    return distributor_id


def test_every_product_link_shows_what_this_distributor_earns(
    programme: Flask, client: FlaskClient, make_distributor
) -> None:
    signed_in(client, make_distributor)
    html = client.get("/me/links").get_data(as_text=True)
    lines = earn_lines(html)
    # 10 % of 45.50; 3 % of 45.50 = 1.365 → 1.37 (one rounding per line, half up).
    assert "Earn $4.55" in lines["101"] and "$1.37 when your direct recruit" in lines["101"]
    assert "Earn $15.00" in lines["102"]  # fixed per unit beats the plan
    assert "Earn $3.98" in lines["103"]  # the category's 20 %
    assert lines["104"] == "No commission on this product"
    assert "105" not in lines  # no price, no estimate
    assert "You earn 10 % of what people buy" in html
    assert "Some products pay other rates" in html


def test_the_search_fragment_carries_the_same_amounts(
    programme: Flask, client: FlaskClient, make_distributor
) -> None:
    signed_in(client, make_distributor)
    fragment = client.get("/me/links/products?q=cookies", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="product-results"')
    assert earn_lines(html) == {"101": "Earn $4.55 $1.37 when your direct recruit sells it"}
    zh = client.get(
        "/me/links/products?q=cookies",
        headers={"HX-Request": "true", "Accept-Language": "zh-CN"},
    )
    assert "4.55" in earn_lines(zh.get_data(as_text=True))["101"]


def test_the_level_rate_and_the_engine_agree(
    programme: Flask, client: FlaskClient, make_distributor
) -> None:
    """A Gold distributor (12 % own sales) sees 12 %, and the amount is what the engine
    books for a real one-unit order of theirs."""
    distributor_id = signed_in(client, make_distributor)
    with programme.app_context():
        gold = Level(name="Gold", rank=1, rate_depth1=D("12"))
        db.session.add(gold)
        db.session.get(Distributor, distributor_id).level = gold
        db.session.commit()
    lines = earn_lines(client.get("/me/links").get_data(as_text=True))
    assert lines["101"].startswith("Earn $5.46")  # 12 % of 45.50
    assert lines["102"].startswith("Earn $15.00")  # the product override still wins
    with programme.app_context():
        me = db.session.get(Distributor, distributor_id)
        order = engine.Order(
            "x", "USD", (engine.Line("1", "101", 1, D("45.50")),), customer_email="a@b.example"
        )
        booked = engine.compute(
            order,
            services.chain_for([me], services.utcnow()),
            services.plan_for("affiliate"),
            engine.Settings(now=services.utcnow()),
        )
        assert booked.lines[0].amount == D("5.46")
    home = client.get("/me/").get_data(as_text=True)
    assert 'data-rate="1">12 %' in home and 'data-rate="2">3 %' in home
    assert 'data-return-window="7"' in home


def test_a_plan_change_shows_at_once(
    programme: Flask, client: FlaskClient, make_distributor, make_user
) -> None:
    """The estimates are cached per plan version: saving an override, deleting it or
    changing a rate is seen on the next page."""
    signed_in(client, make_distributor)
    assert earn_lines(client.get("/me/links").get_data(as_text=True))["101"].startswith(
        "Earn $4.55"
    )
    admin_id = make_user("admin@shop.example", Role.ADMIN)
    with programme.app_context():
        admin = db.session.get(User, admin_id)
        override = plans.save_override(
            DistributorRole.AFFILIATE,
            {"scope": "product", "target_id": "101", "depth": 1, "kind": "fixed", "value": D(7)},
            admin,
        )
        db.session.commit()
        override_id = override.id
    assert earn_lines(client.get("/me/links").get_data(as_text=True))["101"].startswith(
        "Earn $7.00"
    )
    with programme.app_context():
        admin = db.session.get(User, admin_id)
        plans.delete_override(DistributorRole.AFFILIATE, override_id, admin)
        db.session.commit()
        row = plans.plan_row(DistributorRole.AFFILIATE)
        values = {name: getattr(row, name) for name in plans.PLAN_FIELDS}
        plans.save_plan(DistributorRole.AFFILIATE, {**values, "rate_depth1": D(8)}, ["104"], admin)
        db.session.commit()
    lines = earn_lines(client.get("/me/links").get_data(as_text=True))
    assert lines["101"].startswith("Earn $3.64")  # 8 % of 45.50


def test_the_product_list_does_not_grow_queries_with_the_catalogue(
    programme: Flask, client: FlaskClient, make_distributor
) -> None:
    signed_in(client, make_distributor)
    queries_for(programme, client, "/me/links/products")  # warm the plan cache
    few = queries_for(programme, client, "/me/links/products")
    with programme.app_context():
        db.session.add_all(
            Product(product_id=f"9{n:03d}", name=f"Bulk {n}", price=f"{n}.50", category_ids=[])
            for n in range(60)
        )
        db.session.commit()
    many = queries_for(programme, client, "/me/links/products")
    assert many == few
    estimates._ESTIMATES.clear()
    estimates._PLANS.clear()
    assert queries_for(programme, client, "/me/links/products") > few  # the plan's load


def test_someone_elses_links_are_not_shown(
    programme: Flask, client: FlaskClient, make_distributor
) -> None:
    """The page is the signed-in distributor's: their code in every link, no other's."""
    _, other_code = make_distributor("other@shop.example")
    signed_in(client, make_distributor)
    html = client.get("/me/links").get_data(as_text=True)
    assert f"/r/{other_code}" not in html
