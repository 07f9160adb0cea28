"""The audit log: browsing and filtering it (/admin/audit), and that it is append-only
in the ORM and in the database — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import delete, func, select, update

from portal.accounts.models import Role, User
from portal.audit import services as audit
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.ledger.guard import AppendOnlyViolation
from portal.settings import services as settings
from tests.helpers import csrf_token, queries_for
from tests.money import HX, add_account, configure, decide, request, signed_in

# --- helpers --------------------------------------------------------------------------


def _record(
    app: Flask,
    actor_id: int | None,
    action: str,
    target: tuple[str, object] = ("withdrawal", 1),
    when: datetime | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> int:
    with app.app_context():
        actor = db.session.get(User, actor_id) if actor_id else None
        entry = audit.record(actor, action, target[0], target[1], before, after)
        if when is not None:
            entry.created_at = when  # still pending: this is the INSERT, not an update
        db.session.commit()
        return entry.id


def _rows(html: str) -> int:
    return html.count('<tr id="audit-')


# --- browsing -------------------------------------------------------------------------


def test_a_setting_change_shows_who_when_where_and_before_after(app: Flask, admin_client) -> None:
    with app.app_context():
        values = settings.all_values()
    form = {k: str(v) for k, v in values.items() if not isinstance(v, bool)}
    form.update({k: "y" for k, v in values.items() if v is True})
    form.update(return_window_days="14", csrf_token=csrf_token(admin_client, "/admin/settings"))
    saved = admin_client.post(
        "/admin/settings", data=form, environ_base={"REMOTE_ADDR": "203.0.113.7"}
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)

    page = admin_client.get("/admin/audit?action=setting.")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "HX-Request" in page.headers["Vary"]
    assert _rows(html) == 1
    assert "setting.update" in html and "admin@shop.example" in html and "203.0.113.7" in html
    assert "setting #return_window_days" in html
    assert "<del>7</del>" in html and "<ins>14</ins>" in html
    assert 'role="status"' in html  # the count is announced


def test_money_actions_are_listed_with_reasons_escaped(
    app: Flask, admin_client, seller, ops
) -> None:
    account = add_account(app, seller)
    first = request(app, seller, "10", account)
    decide(app, ops, first, "reject", "<script>alert('x')</script> wrong account")
    second = request(app, seller, "20", account)
    decide(app, ops, second, "approve")

    html = admin_client.get("/admin/audit?action=withdrawal.").get_data(as_text=True)
    assert _rows(html) == 2
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; wrong account" in html
    assert "withdrawal.reject" in html and "withdrawal.approve" in html
    assert "<del>requested</del>" in html and "<ins>rejected</ins>" in html
    assert "ops@shop.example" in html

    # One withdrawal's history: filter by target type and id (the link in each row).
    one = admin_client.get(f"/admin/audit?target_type=withdrawal&target_id={first}")
    assert _rows(one.get_data(as_text=True)) == 1
    assert f"target_type=withdrawal&amp;target_id={first}" in html


def test_filters_by_actor_system_and_dates(app: Flask, admin_client, make_user) -> None:
    ops = make_user("ops@shop.example", Role.OPS)
    early = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    late = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    _record(app, ops, "distributor.suspend", ("distributor", 5), early)
    _record(app, None, "withdrawal.auto_approve", ("withdrawal", 9), late)
    _record(app, ops, "plan.update", ("plan", "affiliate"), late)

    def count(query: str) -> int:
        response = admin_client.get("/admin/audit?" + query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return _rows(response.get_data(as_text=True))

    assert count("") == 3
    assert count(f"actor={ops}") == 2
    assert count("actor=system") == 1
    assert count("target_type=distributor") == 1
    assert count("target_type=plan&target_id=affiliate") == 1
    assert count("since=2026-01-10&until=2026-01-10") == 1  # the last day counts whole
    assert count("since=2026-01-11") == 2
    assert count("until=2026-02-28") == 1
    assert count("action=plan") == 1
    assert count("action=%25") == 0  # a typed % matches itself, not everything
    assert count("until=9999-12-31") == 3

    choices = admin_client.get("/admin/audit").get_data(as_text=True)
    assert f'<option value="{ops}">ops@shop.example</option>' in choices
    assert '<option value="distributor.suspend">' in choices  # action suggestions


@pytest.mark.parametrize(
    "query",
    ["since=yesterday", "since=2026-02-01&until=2026-01-01", "actor=424242", "target_type=nope"],
)
def test_bad_filters_are_a_400_with_the_reason(admin_client, query: str) -> None:
    for headers in ({}, HX):
        response = admin_client.get("/admin/audit?" + query, headers=headers)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert 'role="alert"' in html
        assert ("<html" in html) is not bool(headers)


def test_pages_swap_with_htmx_and_keep_the_filters(app: Flask, admin_client, make_user) -> None:
    ops = make_user("ops@shop.example", Role.OPS)
    size = app.config["PORTAL_PAGE_SIZE"]
    for n in range(size + 3):
        _record(app, ops, "withdrawal.approve", ("withdrawal", n))
    _record(app, ops, "plan.update", ("plan", "agent"))

    first = admin_client.get("/admin/audit?action=withdrawal.").get_data(as_text=True)
    assert _rows(first) == size
    assert 'href="/admin/audit?page=2&amp;action=withdrawal."' in first
    second = admin_client.get("/admin/audit?action=withdrawal.&page=2", headers=HX)
    html = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="audit-log">')
    assert _rows(html) == 3


def test_one_page_costs_the_same_queries_however_many_actors(
    app: Flask, admin_client, make_user
) -> None:
    def queries() -> int:
        return queries_for(app, admin_client, "/admin/audit")

    _record(app, make_user("a0@shop.example", Role.OPS), "plan.update", ("plan", "x"))
    few = queries()
    for n in range(1, 12):
        _record(app, make_user(f"a{n}@shop.example", Role.OPS), "plan.update", ("plan", n))
    assert queries() == few


def test_only_admins_read_the_log(app: Flask, make_user, make_distributor) -> None:
    make_user("admin@shop.example", Role.ADMIN)
    make_user("ops@shop.example", Role.OPS)
    make_distributor("dist@shop.example")
    admin = signed_in(app, "admin@shop.example")
    assert admin.get("/admin/audit").status_code == 200
    assert 'href="/admin/audit"' in admin.get("/admin/").get_data(as_text=True)
    ops = signed_in(app, "ops@shop.example")
    assert ops.get("/admin/audit").status_code == 403
    assert ops.get("/admin/audit", headers=HX).status_code == 403
    assert 'href="/admin/audit"' not in ops.get("/admin/").get_data(as_text=True)
    assert signed_in(app, "dist@shop.example").get("/admin/audit").status_code == 403
    anonymous = app.test_client().get("/admin/audit")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_changes_show_keys_side_by_side(app: Flask) -> None:
    entry = AuditEntry(
        before={"state": "requested", "amount": "10.00", "old": [1, 2]},
        after={"state": "paid", "amount": "10.00", "reason": "ok", "n": 3},
    )
    changes = audit.changes(entry)
    assert [(c.key, c.kind) for c in changes] == [
        ("state", "changed"),
        ("n", "added"),
        ("reason", "added"),
        ("old", "removed"),
        ("amount", "same"),
    ]
    assert changes[1].after == "3" and changes[3].before == "[1, 2]"
    assert audit.changes(AuditEntry(before=None, after=None)) == []


# --- append-only ----------------------------------------------------------------------


def _one_entry(app: Flask, make_user) -> int:
    actor = make_user("admin@shop.example")
    return _record(app, actor, "setting.update", ("setting", "currency"), after={"value": "CNY"})


def test_the_orm_refuses_to_update_or_delete_an_entry(app: Flask, make_user) -> None:
    entry_id = _one_entry(app, make_user)
    with app.app_context():
        entry = db.session.get(AuditEntry, entry_id)
        entry.action = "setting.hidden"
        with pytest.raises(AppendOnlyViolation, match="cannot update"):
            db.session.commit()
        db.session.rollback()

        db.session.delete(db.session.get(AuditEntry, entry_id))
        with pytest.raises(AppendOnlyViolation, match="cannot delete"):
            db.session.commit()
        db.session.rollback()

        for statement in (
            update(AuditEntry).values(action="x"),
            delete(AuditEntry).where(AuditEntry.id == entry_id),
        ):
            with pytest.raises(AppendOnlyViolation, match="no bulk"):
                db.session.execute(statement)
            db.session.rollback()


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
def test_the_database_refuses_sql_updates_and_deletes(
    app: Flask, make_user, statement: str
) -> None:
    """Past the ORM (raw SQL, another program), the triggers still refuse."""
    entry_id = _one_entry(app, make_user)
    with app.app_context():
        refused = pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only")
        with refused, db.engine.begin() as conn:
            conn.execute(sa.text(statement))
        entry = db.session.get(AuditEntry, entry_id)
        assert entry.action == "setting.update"
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 1


def test_recording_still_works_next_to_the_triggers(app: Flask, make_user) -> None:
    """Inserts pass; every audited flow in the suite runs through the same guard, so a
    code path that rewrote history would fail its own tests."""
    entry_id = _one_entry(app, make_user)
    configure(app, db_user(app, "admin@shop.example"), min_withdrawal=D("5"))
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 2
        assert db.session.get(AuditEntry, entry_id).after == {"value": "CNY"}


def db_user(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))
