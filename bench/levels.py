"""The hourly level upgrade at 100,000 distributors: seconds, statements and load.

On the data of ``bench/centre.py`` (100,000 distributors in a five-wide tree, 1,000,000
orders over 90 days, skewed so a few distributors own thousands), with a ladder of four
levels (an entry level; Silver: 500.00 of sales and 3 orders in 30 days; Gold: 5,000.00
in 60 days and 20 active members in three levels; Partner: ops only), each round:

1. **first pass** — everyone back at the entry level, the job's cursor cleared, one run of
   ``upgrade_levels`` (evaluates everyone, promotes thousands, audits and notifies each);
2. **steady pass** — the next hour's run: evaluates everyone again, promotes nobody.

Printed per round and as the median of the rounds, with the machine's load. Target: a
pass ≤ 30 s. The bench's levels, promotions' notifications and cursor are removed at the
end (audit entries stay: the audit log is append-only).

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench \\
        python bench/levels.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
from decimal import Decimal

import sqlalchemy as sa
from centre import DISTRIBUTORS, bench_app, timed

from portal.cursors import JobCursor
from portal.distributors.models import Distributor, Level
from portal.extensions import db
from portal.levels.upgrades import CURSOR, upgrade_levels
from portal.notifications.models import Notification, NotificationKind

LADDER = [
    {"name": "Bench member", "rank": 1},
    {
        "name": "Bench silver",
        "rank": 2,
        "min_personal_sales": Decimal("500"),
        "min_orders": 3,
        "window_days": 30,
    },
    {
        "name": "Bench gold",
        "rank": 3,
        "min_personal_sales": Decimal("5000"),
        "min_team_size": 20,
        "window_days": 60,
    },
    {"name": "Bench partner", "rank": 4},
]


def _load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _reset(entry_id: int | None) -> None:
    db.session.execute(sa.update(Distributor).values(level_id=entry_id))
    db.session.execute(sa.delete(JobCursor).where(JobCursor.name == CURSOR))
    db.session.execute(
        sa.delete(Notification).where(Notification.kind == NotificationKind.LEVEL_UP)
    )
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    app = bench_app()
    with app.app_context():
        if db.session.scalar(sa.select(sa.func.count()).select_from(Level)):
            raise SystemExit("the database has levels already: use the bench's own")
        ladder = [Level(**fields) for fields in LADDER]
        db.session.add_all(ladder)
        db.session.commit()
        entry_id = ladder[0].id
        try:
            results: dict[str, list[tuple[float, int, int]]] = {"first": [], "steady": []}
            print(f"{DISTRIBUTORS:,} distributors, upgrade_levels()")
            for n in range(1, args.rounds + 1):
                _reset(entry_id)
                for name in ("first", "steady"):
                    took, statements, promoted = timed(app, upgrade_levels)
                    results[name].append((took, statements, promoted))
                    print(
                        f"round {n} {name:<6} {took:6.1f} s  {statements:>5} statements  "
                        f"{promoted:>6} promoted   load {_load_avg()}",
                        flush=True,
                    )
            for name, runs in results.items():
                print(
                    f"{name} pass: median {statistics.median(r[0] for r in runs):.1f} s, "
                    f"{statistics.median(r[1] for r in runs):.0f} statements, "
                    f"{runs[0][2]} promoted   (target <= 30 s)"
                )
        finally:
            _reset(None)
            db.session.execute(sa.delete(Level))
            db.session.commit()


if __name__ == "__main__":
    main()
