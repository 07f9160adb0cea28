"""Keyset pages of the team list (/me/team) and the admin distributor list: every member
exactly once, forwards and backwards, with ties in what the rows show; maintained team
counters equal a recount of the tree; nobody pages into another distributor's team."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.accounts.models import Role, User
from portal.centre import team
from portal.distributors import management
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus
from portal.extensions import db
from tests.helpers import login

HX = {"HX-Request": "true"}
LINK = re.compile(r'<a href="([^"]+)"[^>]*rel="(prev|next)"')


def links(html: str) -> dict[str, str]:
    return {rel: href.replace("&amp;", "&") for href, rel in LINK.findall(html)}


def codes_in(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


def walk(client: FlaskClient, start: str, pattern: str, headers: dict | None = None):
    """Follow Next to the end, then Previous back; returns (pages forwards, backwards)."""
    forwards, url = [], start
    while True:
        html = client.get(url, headers=headers or {}).get_data(as_text=True)
        forwards.append(codes_in(html, pattern))
        if "next" not in links(html):
            break
        url = links(html)["next"]
    backwards = [forwards[-1]]
    while "prev" in links(html):
        html = client.get(links(html)["prev"], headers=headers or {}).get_data(as_text=True)
        backwards.append(codes_in(html, pattern))
    return forwards, backwards[::-1]


@pytest.fixture
def tree(app: Flask, make_distributor) -> dict[str, object]:
    """root → 5 direct (one an applicant); two of them with children; one grandchild with
    children of its own; and a second distributor with a team of its own."""
    root, _ = make_distributor("root@shop.example", name="Root")
    direct = [
        make_distributor(f"d{n}@shop.example", parent_id=root, name="Same Name")[0]
        for n in range(4)
    ]
    direct.append(make_distributor("d4@shop.example", DistributorStatus.APPLIED, parent_id=root)[0])
    second = [make_distributor(f"s{n}@shop.example", parent_id=direct[n % 2])[0] for n in range(5)]
    third = [make_distributor(f"t{n}@shop.example", parent_id=second[0])[0] for n in range(3)]
    fourth = make_distributor("deep@shop.example", parent_id=third[0])[0]
    other, _ = make_distributor("other@shop.example", name="Other")
    theirs = [make_distributor(f"o{n}@shop.example", parent_id=other)[0] for n in range(3)]
    with app.app_context():
        code = dict(db.session.execute(sa.select(Distributor.id, Distributor.code)).all())
        # Ties in what is shown: everyone joined in the same second.
        first = db.session.get(Distributor, root).joined_at
        db.session.execute(
            sa.update(Distributor).where(Distributor.joined_at.is_not(None)).values(joined_at=first)
        )
        db.session.commit()
    return {
        "root": root,
        "levels": [direct, second, third],
        "fourth": fourth,
        "other": other,
        "theirs": theirs,
        "code": code,
    }


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


MEMBER = r'<span class="code muted">([A-Z0-9]+)</span>'


@pytest.mark.parametrize("headers", [None, HX])
def test_team_pages_cover_every_member_once(app: Flask, tree, monkeypatch, headers) -> None:
    monkeypatch.setitem(app.config, "PORTAL_PAGE_SIZE", 3)
    client = signed_in(app, "root@shop.example")
    code = tree["code"]
    expected = [code[m] for level in tree["levels"] for m in sorted(level, reverse=True)]
    forwards, backwards = walk(client, "/me/team", MEMBER, headers)
    assert [c for page in forwards for c in page] == expected  # level, then newest first
    assert backwards == forwards
    assert all(len(page) == 3 for page in forwards[:-1])
    assert code[tree["fourth"]] not in str(forwards)  # depth 4 is not the team
    # One level at a time, and searching, page the same way.
    level2, _ = walk(client, "/me/team?depth=2", MEMBER, headers)
    assert [c for page in level2 for c in page] == [
        code[m] for m in sorted(tree["levels"][1], reverse=True)
    ]
    same, _ = walk(client, "/me/team?q=same", MEMBER, headers)
    assert [c for page in same for c in page] == [
        code[m] for m in sorted(tree["levels"][0][:4], reverse=True)
    ]
    html = client.get("/me/team", headers=headers or {}).get_data(as_text=True)
    assert ("<html" in html) is (headers is None)  # a full page without HX-Request
    assert "13 members" in html


def test_team_counts_are_maintained(app: Flask, tree, make_user) -> None:
    def scanned(root_id: int) -> dict[int, int]:
        members = team.team(root_id)
        found = dict.fromkeys(team.DEPTHS, 0)
        found.update(
            db.session.execute(
                sa.select(members.c.depth, sa.func.count()).group_by(members.c.depth)
            ).all()
        )
        return found

    def check() -> None:
        everyone = list(db.session.scalars(sa.select(Distributor.id)))
        counted = {d: team.counts(d) for d in everyone}
        assert counted == {d: scanned(d) for d in everyone}
        team.recount()
        assert counted == {d: team.counts(d) for d in everyone}

    admin_id = make_user("boss@shop.example", Role.ADMIN)
    with app.app_context():
        check()
        assert team.counts(tree["root"]) == {1: 5, 2: 5, 3: 3}
        actor = db.session.get(User, admin_id)
        # Move the subtree under second[0] (3 + 1 members) into the other team, then a
        # direct member to the top of the tree.
        moved = tree["levels"][1][0]
        other_code = tree["code"][tree["other"]]
        management.change_profile(moved, actor, None, DistributorRole.AFFILIATE, other_code)
        db.session.commit()
        check()
        assert team.counts(tree["root"]) == {1: 5, 2: 4, 3: 0}
        assert team.counts(tree["other"]) == {1: 4, 2: 3, 3: 1}
        management.change_profile(tree["levels"][0][1], actor, None, DistributorRole.AFFILIATE, "")
        db.session.commit()
        check()


def test_nobody_pages_into_another_team(app: Flask, tree, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PORTAL_PAGE_SIZE", 2)
    code = tree["code"]
    mine = {code[m] for level in tree["levels"] for m in level}
    client = signed_in(app, "other@shop.example")
    theirs = {code[m] for m in tree["theirs"]}
    # Cursors copied from the root's team (or made up) only bound the other's own list.
    for cursor in ("0.99999", f"0.{max(tree['levels'][0])}", "2.1", "1.0"):
        for arg in ("after", "before"):
            html = client.get(f"/me/team?{arg}={cursor}").get_data(as_text=True)
            assert set(codes_in(html, MEMBER)) <= theirs
            assert not mine & set(codes_in(html, MEMBER))
    forwards, _ = walk(client, "/me/team", MEMBER)
    assert sorted(c for page in forwards for c in page) == sorted(theirs)
    assert client.get("/admin/distributors").status_code in (302, 403)
    # Malformed cursors are the first page, never an error.
    for junk in ("abc", "1", "0.1.2", "-1.5", "9" * 30, "0.x", "0.--5", "0.²"):
        assert client.get(f"/me/team?after={junk}").status_code == 200


ROW = r'<span class="code">([A-Z0-9]+)</span>'


def test_admin_list_pages_and_searches(
    app: Flask, admin_client, tree, monkeypatch: pytest.MonkeyPatch, make_distributor
) -> None:
    monkeypatch.setitem(app.config, "PORTAL_PAGE_SIZE", 4)
    code: dict[int, str] = tree["code"]
    forwards, backwards = walk(admin_client, "/admin/distributors", ROW)
    assert [c for page in forwards for c in page] == [code[d] for d in sorted(code, reverse=True)]
    assert backwards == forwards
    html = admin_client.get("/admin/distributors?status=active").get_data(as_text=True)
    assert f"{len(code) - 1} distributors" in html
    active, _ = walk(admin_client, "/admin/distributors?status=active", ROW, HX)
    assert len({c for page in active for c in page}) == len(code) - 1
    # Search: by part of a name, the exact code, part of an e-mail address.
    by_name, _ = walk(admin_client, "/admin/distributors?q=ame+nam", ROW)
    assert sorted(c for page in by_name for c in page) == sorted(
        code[d] for d in tree["levels"][0][:4]
    )
    some = tree["levels"][2][1]
    assert codes_in(
        admin_client.get(f"/admin/distributors?q={code[some]}").get_data(as_text=True), ROW
    ) == [code[some]]
    assert codes_in(
        admin_client.get("/admin/distributors?q=DEEP@shop").get_data(as_text=True), ROW
    ) == [code[tree["fourth"]]]
    assert (
        codes_in(admin_client.get("/admin/distributors?q=%25").get_data(as_text=True), ROW) == []
    )  # % is a character here, not a wildcard


def test_trigram_indexes_on_postgresql(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("pg_trgm is PostgreSQL's")
        definitions = db.session.scalars(
            sa.text(
                "SELECT indexdef FROM pg_indexes WHERE indexname IN "
                "('ix_distributors_display_name_trgm', 'ix_users_email_trgm')"
            )
        ).all()
        assert len(definitions) == 2
        assert all("gin" in d and "gin_trgm_ops" in d for d in definitions)
