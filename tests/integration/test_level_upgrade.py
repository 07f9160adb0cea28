"""The automatic level upgrade: promotes at the exact threshold, not one cent below,
climbs several levels in one run, never demotes, audits and announces each change, counts
the team three levels deep, and a stopped run continues where it stopped."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from itertools import count

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.levels import criteria as levels
from portal.levels import upgrades
from portal.levels.upgrades import upgrade_levels
from portal.notifications.models import Notification, NotificationKind
from portal.orders import services as orders
from portal.timeutil import utcnow
from tests import factories

_order_ids = count(5000)


@pytest.fixture
def ladder(app: Flask) -> dict[int, int]:
    """rank → level id: 1 entry (no criteria), 2 needs 100.00 sales and 2 orders in 30
    days, 3 needs 300.00 sales, 4 has no criteria (ops only)."""
    with app.app_context():
        levels = [
            Level(name="Member", rank=1),
            Level(name="Silver", rank=2, min_personal_sales=D("100"), min_orders=2, window_days=30),
            Level(name="Gold", rank=3, min_personal_sales=D("300"), window_days=30),
            Level(name="Partner", rank=4),
        ]
        db.session.add_all(levels)
        db.session.commit()
        return {level.rank: level.id for level in levels}


def _sell(app: Flask, distributor_id: int, *totals: str, days_ago: int = 1) -> None:
    when = utcnow() - timedelta(days=days_ago)
    with app.app_context():
        for total in totals:
            orders.store_order(
                factories.order(distributor_id, str(next(_order_ids)), total, at=when)
            )


def _member(app: Flask, make_distributor, email: str, level_id: int | None, **kw) -> int:
    distributor_id, _ = make_distributor(email, **kw)
    with app.app_context():
        db.session.get(Distributor, distributor_id).level_id = level_id
        db.session.commit()
    return distributor_id


def _rank(app: Flask, distributor_id: int) -> int | None:
    with app.app_context():
        level = db.session.get(Distributor, distributor_id).level
        return level.rank if level else None


def _run(app: Flask) -> int:
    with app.app_context():
        return upgrade_levels()


def test_promotes_at_the_exact_threshold_and_not_one_cent_below(
    app: Flask, make_distributor, ladder
) -> None:
    exact = _member(app, make_distributor, "exact@shop.example", ladder[1])
    below = _member(app, make_distributor, "below@shop.example", ladder[1])
    _sell(app, exact, "60.00", "40.00")
    _sell(app, below, "60.00", "39.99")

    assert _run(app) == 1
    assert _rank(app, exact) == 2
    assert _rank(app, below) == 1


def test_orders_outside_the_window_do_not_count(app: Flask, make_distributor, ladder) -> None:
    old = _member(app, make_distributor, "old@shop.example", ladder[1])
    _sell(app, old, "60.00")
    _sell(app, old, "60.00", days_ago=40)
    assert _run(app) == 0
    assert _rank(app, old) == 1


def test_climbs_several_levels_but_never_to_one_without_criteria(
    app: Flask, make_distributor, ladder
) -> None:
    star = _member(app, make_distributor, "star@shop.example", ladder[1])
    _sell(app, star, "200.00", "100.00")
    assert _run(app) == 1
    assert _rank(app, star) == 3  # Gold; Partner has no criteria: ops assign it


def test_never_demotes_and_skips_suspended(app: Flask, make_distributor, ladder) -> None:
    quiet = _member(app, make_distributor, "quiet@shop.example", ladder[3])
    suspended = _member(
        app,
        make_distributor,
        "sus@shop.example",
        ladder[1],
        status=DistributorStatus.SUSPENDED,
    )
    _sell(app, suspended, "200.00", "200.00")
    assert _run(app) == 0
    assert _rank(app, quiet) == 3
    assert _rank(app, suspended) == 1


def test_each_change_is_audited_and_announced_once(app: Flask, make_distributor, ladder) -> None:
    seller = _member(app, make_distributor, "seller@shop.example", ladder[1])
    _sell(app, seller, "50.00", "50.00")
    assert _run(app) == 1
    assert _run(app) == 0  # idempotent
    with app.app_context():
        audits = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "distributor.level_up")
        ).all()
        assert [(a.target_id, a.before, a.after["level_id"]) for a in audits] == [
            (str(seller), {"level_id": ladder[1]}, ladder[2])
        ]
        notes = db.session.scalars(select(Notification)).all()
        assert [(n.distributor_id, n.kind, n.params["level"]) for n in notes] == [
            (seller, NotificationKind.LEVEL_UP, "Silver")
        ]


def test_many_distributors_in_batches(app: Flask, make_distributor, ladder) -> None:
    ids = [_member(app, make_distributor, f"d{i}@shop.example", ladder[1]) for i in range(5)]
    for distributor_id in ids[::2]:
        _sell(app, distributor_id, "100.00", "1.00")
    with app.app_context():
        assert upgrade_levels(batch=2) == 3
        ranks = dict(
            db.session.execute(select(Distributor.id, Level.rank).join(Distributor.level)).all()
        )
        assert [ranks[i] for i in ids] == [2, 1, 2, 1, 2]
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 3


def test_team_size_counts_active_members_three_levels_deep(app: Flask, make_distributor) -> None:
    """The job's grouped count and the dashboard's progress agree: active members at
    depths 1–3 count; a suspended member or one four levels down does not."""
    with app.app_context():
        db.session.add_all(
            [Level(name="Member", rank=1), Level(name="Leader", rank=2, min_team_size=3)]
        )
        db.session.commit()
        member_id = db.session.scalar(select(Level.id).where(Level.rank == 1))
    root = _member(app, make_distributor, "root@shop.example", member_id)
    short = _member(app, make_distributor, "short@shop.example", member_id)
    child = _member(app, make_distributor, "c@shop.example", member_id, parent_id=root)
    make_distributor("sus@shop.example", parent_id=root, status=DistributorStatus.SUSPENDED)
    grandchild = _member(app, make_distributor, "g@shop.example", member_id, parent_id=child)
    great, _ = make_distributor("gg@shop.example", parent_id=grandchild)
    make_distributor("ggg@shop.example", parent_id=great)  # depth 4 below root
    make_distributor("s1@shop.example", parent_id=short)
    make_distributor("s2@shop.example", parent_id=short)

    with app.app_context():
        shown = levels.progress(db.session.get(Distributor, root), utcnow())
        assert [(c.key, c.current, c.met) for c in shown.criteria] == [("team_size", 3, True)]
    assert _run(app) == 2
    assert _rank(app, root) == 2
    assert _rank(app, child) == 2  # its three levels: g, gg and ggg
    assert _rank(app, short) == 1


def test_a_stopped_run_continues_after_its_last_batch(
    app: Flask, make_distributor, ladder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed part way leaves its cursor after the last committed batch: the next
    run goes on from there (it does not restart at the first distributor), and the run
    after a finished pass starts over."""
    ids = [_member(app, make_distributor, f"r{i}@shop.example", ladder[1]) for i in range(5)]
    for distributor_id in ids[1:4]:
        _sell(app, distributor_id, "60.00", "40.00")
    real_promote, calls = upgrades.promote, count(1)

    def killed_in_second_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        if next(calls) == 2:
            raise SystemExit("worker killed")
        return real_promote(*args, **kwargs)

    monkeypatch.setattr(upgrades, "promote", killed_in_second_batch)
    with app.app_context(), pytest.raises(SystemExit):
        upgrade_levels(batch=2)
    monkeypatch.setattr(upgrades, "promote", real_promote)
    assert [_rank(app, i) for i in ids] == [1, 2, 1, 1, 1]

    _sell(app, ids[0], "60.00", "40.00")  # qualifies now, but was evaluated in this pass
    with app.app_context():
        assert upgrade_levels(batch=2) == 2  # ids[2] and ids[3]: the rest of the pass
    assert [_rank(app, i) for i in ids] == [1, 2, 2, 2, 1]
    with app.app_context():
        assert upgrade_levels(batch=2) == 1  # a new pass from the first distributor
    assert [_rank(app, i) for i in ids] == [2, 2, 2, 2, 1]
