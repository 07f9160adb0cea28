"""Ops managing a distributor: search and filters, the detail page, suspend / reactivate,
level / role / upline changes (no loops), manual ledger adjustments — all audited."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.console import distributor as overview
from portal.distributors import management
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.extensions import db
from portal.ledger.models import Bucket, EntryKind, LedgerEntry
from tests.helpers import csrf_token, queries_for
from tests.money import balances, earn, signed_in, verify


def ops_client(app: Flask, make_user) -> FlaskClient:
    make_user("ops@shop.example", Role.OPS)
    return signed_in(app, "ops@shop.example")


def post(client: FlaskClient, distributor_id: int, action: str, **data: str):
    token = csrf_token(client, f"/admin/distributors/{distributor_id}")
    return client.post(
        f"/admin/distributors/{distributor_id}/{action}", data={"csrf_token": token, **data}
    )


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_suspend_and_reactivate_need_a_reason(app: Flask, make_user, make_distributor) -> None:
    distributor_id, _ = make_distributor("lin@shop.example", name="Lin")
    ops = ops_client(app, make_user)
    missing = post(ops, distributor_id, "status", reason="")
    assert missing.status_code == 400 and "Give a reason" in missing.get_data(as_text=True)
    assert post(ops, distributor_id, "status", reason="fake orders").status_code == 302
    with app.app_context():
        assert db.session.get(Distributor, distributor_id).status is DistributorStatus.SUSPENDED
    assert post(ops, distributor_id, "status", reason="cleared").status_code == 302
    with app.app_context():
        assert db.session.get(Distributor, distributor_id).status is DistributorStatus.ACTIVE
    assert audit_actions(app) == ["distributor.suspend", "distributor.reactivate"]


def test_an_upline_change_never_makes_a_loop(app: Flask, make_user, make_distributor) -> None:
    top, top_code = make_distributor("top@shop.example", name="Top")
    mid, mid_code = make_distributor("mid@shop.example", parent_id=top, name="Mid")
    _low, low_code = make_distributor("low@shop.example", parent_id=mid, name="Low")
    other, other_code = make_distributor("other@shop.example", name="Other")
    ops = ops_client(app, make_user)
    for code in (top_code, mid_code, low_code):  # itself, its child, its grandchild
        refused = post(ops, top, "profile", level_id="0", role="affiliate", parent_code=code)
        assert refused.status_code == 400, code
        assert "loop" in refused.get_data(as_text=True) or code == top_code
    unknown = post(ops, top, "profile", level_id="0", role="affiliate", parent_code="ZZZZZZ")
    assert "No distributor has that code" in unknown.get_data(as_text=True)
    moved = post(ops, mid, "profile", level_id="0", role="agent", parent_code=other_code)
    assert moved.status_code == 302
    with app.app_context():
        mid_row = db.session.get(Distributor, mid)
        assert (mid_row.parent_id, mid_row.role) == (other, DistributorRole.AGENT)
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "distributor.change")
        )
        assert entry.before == {"role": "affiliate", "parent_id": top}
        assert entry.after == {"role": "agent", "parent_id": other}
    top_level = post(ops, top, "profile", level_id="0", role="affiliate", parent_code="")
    assert top_level.status_code == 302  # nothing changed is fine


def test_level_changes_take_a_real_level(app: Flask, make_user, make_distributor) -> None:
    distributor_id, _ = make_distributor("lin@shop.example")
    with app.app_context():
        level = Level(name="Partner", rank=2)
        db.session.add(level)
        db.session.commit()
        level_id = level.id
    ops = ops_client(app, make_user)
    bogus = post(ops, distributor_id, "profile", level_id="999", role="affiliate")
    assert bogus.status_code == 400
    assert (
        post(ops, distributor_id, "profile", level_id=str(level_id), role="affiliate").status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Distributor, distributor_id).level_id == level_id


def test_manual_adjustments_are_ledger_entries_with_a_reason(
    app: Flask, plan, make_user, make_distributor
) -> None:
    distributor_id, _ = make_distributor("lin@shop.example", name="Lin")
    earn(app, distributor_id, "50.00", "1001")
    ops = ops_client(app, make_user)
    for amount, reason in (
        ("", "x"),
        ("abc", "x"),
        ("0", "x"),
        ("1.234", "x"),
        ("NaN", "x"),
        ("5", ""),
    ):
        response = post(ops, distributor_id, "adjust", amount=amount, reason=reason)
        assert response.status_code == 400, (amount, reason)
    assert balances(app, distributor_id) == {Bucket.AVAILABLE: D("50.00")}
    for amount, reason in (("12.50", "Goodwill"), ("-70", "Fraud")):
        asked = post(ops, distributor_id, "adjust", amount=amount, reason=reason)
        assert asked.status_code == 200 and "Adjust Lin&#39;s balance by" in asked.text
        done = post(ops, distributor_id, "adjust", amount=amount, reason=reason, confirmed="1")
        assert done.status_code == 302
    assert balances(app, distributor_id) == {Bucket.AVAILABLE: D("-7.50")}
    assert verify(app) == []
    with app.app_context():
        manual = list(
            db.session.scalars(
                select(LedgerEntry).where(LedgerEntry.kind == EntryKind.MANUAL.value)
            )
        )
    assert [e.amount for e in manual] == [D("12.50"), D("-70")]
    assert manual[0].reference.endswith("Goodwill")
    assert audit_actions(app) == ["ledger.adjust", "ledger.adjust"]
    page = ops.get(f"/admin/distributors/{distributor_id}").get_data(as_text=True)
    assert "Goodwill" in page and "-$7.50" in page
    ledger = ops.get(f"/admin/distributors/{distributor_id}/ledger")
    assert ledger.status_code == 200
    words = ledger.get_data(as_text=True)  # words, not `manual` and `manual:12 Goodwill`
    assert "Manual adjustment" in words and ": Goodwill" in words
    assert ">manual<" not in words and "manual:" not in words
    assert ops.get("/admin/distributors/999999").status_code == 404


def test_search_and_filters(app: Flask, make_user, make_distributor) -> None:
    top, top_code = make_distributor("top@shop.example", name="Top Wang")
    make_distributor("kid@shop.example", parent_id=top, name="Kid 100%")
    make_distributor("sus@shop.example", status=DistributorStatus.SUSPENDED, name="Sus Li")
    ops = ops_client(app, make_user)

    def names(query: str) -> set[str]:
        html = ops.get(f"/admin/distributors?{query}", headers={"HX-Request": "true"}).text
        return set(re.findall(r'<a href="/admin/distributors/\d+">([^<]+)</a>', html))

    everyone = {"Top Wang", "Kid 100%", "Sus Li"}
    assert names("") == everyone
    assert names(f"parent={top_code}") == {"Kid 100%"}
    assert names("status=suspended") == {"Sus Li"}
    assert names("q=TOP@SHOP") == {"Top Wang"}
    assert names("q=100%25") == {"Kid 100%"}  # a typed % is a percent sign, not a wildcard
    assert names(f"q={top_code.lower()}") == {"Top Wang"}
    assert names("joined_from=2999-01-01") == set()
    assert names("joined_from=garbage&role=nope&level=x") == everyone


def test_the_list_has_no_n_plus_one(app: Flask, make_user, make_distributor) -> None:
    ops = ops_client(app, make_user)
    parent, _ = make_distributor("p@shop.example")

    def queries() -> int:
        return queries_for(app, ops, "/admin/distributors")

    make_distributor("first@shop.example", parent_id=parent)  # every relation is in use
    few = queries()
    for n in range(15):
        make_distributor(f"d{n}@shop.example", parent_id=parent)
    assert queries() == few


def test_toggling_the_status_suspends_reactivates_and_refuses_the_rest(
    app: Flask, make_user, make_distributor
) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    active, _ = make_distributor("lin@shop.example", name="Lin")
    applied, _ = make_distributor("new@shop.example", status=DistributorStatus.APPLIED)
    with app.app_context():
        ops = db.session.get(User, ops_id)
        with pytest.raises(management.ManagementError) as refused:
            management.toggle_status(active, ops, "  ")
        assert refused.value.field == "reason"
        assert management.toggle_status(active, ops, "fraud") is DistributorStatus.SUSPENDED
        db.session.commit()
        assert management.toggle_status(active, ops, "cleared") is DistributorStatus.ACTIVE
        db.session.commit()
        with pytest.raises(management.ManagementError) as refused:
            management.toggle_status(applied, ops, "why")
        assert refused.value.field is None
        assert db.session.get(Distributor, applied).status is DistributorStatus.APPLIED
    assert audit_actions(app) == ["distributor.suspend", "distributor.reactivate"]


def test_the_overview_of_one_distributor(app: Flask, plan, make_user, make_distributor) -> None:
    ops_id = make_user("ops@shop.example", Role.OPS)
    parent, _ = make_distributor("lin@shop.example", name="Lin")
    for name in ("Zed", "Amy"):
        make_distributor(f"{name}@shop.example", name=name, parent_id=parent)
    earn(app, parent, "12.00", "1")
    with app.test_request_context(f"/admin/distributors/{parent}"):
        ops = db.session.get(User, ops_id)
        management.toggle_status(parent, ops, "check")
        db.session.commit()
        distributor = overview.distributor(parent)
        seen = overview.of(distributor)
        assert [c.display_name for c in seen.children] == ["Amy", "Zed"]
        assert seen.team_counts[1] == 2
        assert seen.balances[Bucket.AVAILABLE] == D("12.00") and seen.orders == 1
        assert [e.action for e in seen.trail] == ["distributor.suspend"]
        assert seen.flags == [] and seen.waiting == []
        assert [e.amount for e in seen.ledger.items] == [
            e.amount for e in overview.ledger_page(parent).items
        ]
        assert seen.ledger.total >= 1
        assert overview.distributor(parent + 100) is None
