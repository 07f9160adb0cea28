"""Two reviewers acting on one application at the same moment: exactly one wins."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEntry
from portal.distributors import services
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db


def _race(app: Flask, applicant_id: int, reviewer_ids: list[int]) -> dict[str, str]:
    """Approve and reject in two threads released together; returns who won."""
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def act(action: str, reviewer_id: int) -> None:
        with app.app_context():
            actor = db.session.get(User, reviewer_id)
            barrier.wait()
            try:
                if action == "approve":
                    services.approve(applicant_id, actor)
                else:
                    services.reject(applicant_id, actor, "too late?")
                results[action] = "won"
            except services.InvalidTransition:
                results[action] = "lost"

    threads = [
        threading.Thread(target=act, args=(action, reviewer))
        for action, reviewer in zip(("approve", "reject"), reviewer_ids, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_parallel_approve_and_reject(app: Flask, make_user, make_distributor) -> None:
    reviewers = [make_user(f"r{i}@shop.example", Role.OPS) for i in range(2)]
    for round_ in range(5):
        applicant, _ = make_distributor(f"a{round_}@shop.example", status=DistributorStatus.APPLIED)
        results = _race(app, applicant, reviewers)
        assert sorted(results.values()) == ["lost", "won"], results
        winner = next(action for action, outcome in results.items() if outcome == "won")
        with app.app_context():
            final = db.session.get(Distributor, applicant).status
            expected = (
                DistributorStatus.ACTIVE if winner == "approve" else DistributorStatus.REJECTED
            )
            assert final is expected
            entries = db.session.scalars(
                select(AuditEntry).where(AuditEntry.target_id == str(applicant))
            ).all()
            assert [e.action for e in entries] == [f"distributor.{winner}"]
