"""Recording audit entries, and reading them back for the audit-log browser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from sqlalchemy import Select, insert, select

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.forms import like_escape

SYSTEM_ACTOR = "system"  # the actor filter's value for entries made by no user (jobs, CLI)


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (the caller commits)."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(entry)
    return entry


def record_system_many(
    action: str, target_type: str, changes: list[tuple[object, dict[str, Any], dict[str, Any]]]
) -> None:
    """Audit entries made by no user (a job), one per (target id, before, after), in one
    multi-row INSERT: a job that changes thousands of rows must not build an ORM object
    for each entry. The caller commits."""
    if changes:
        db.session.execute(
            insert(AuditEntry),
            [
                {
                    "actor_id": None,
                    "action": action,
                    "target_type": target_type,
                    "target_id": str(target_id),
                    "before": before,
                    "after": after,
                    "ip": None,
                }
                for target_id, before, after in changes
            ],
        )


# --- browsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the audit-log browser narrows by; ``None`` / empty means "any"."""

    action: str = ""  # a prefix: "withdrawal." matches every withdrawal action
    actor: int | str | None = None  # a user id, or SYSTEM_ACTOR
    target_type: str = ""
    target_id: str = ""
    since: date | None = None  # first day (UTC), inclusive
    until: date | None = None  # last day (UTC), inclusive


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries(filters: Filters) -> Select[tuple[AuditEntry]]:
    """The matching entries, newest first (for :func:`portal.pagination.paginate`)."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if filters.action:
        query = query.where(AuditEntry.action.like(like_escape(filters.action) + "%", escape="\\"))
    if filters.actor == SYSTEM_ACTOR:
        query = query.where(AuditEntry.actor_id.is_(None))
    elif isinstance(filters.actor, int):
        query = query.where(AuditEntry.actor_id == filters.actor)
    if filters.target_type:
        query = query.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.since:
        query = query.where(AuditEntry.created_at >= _midnight(filters.since))
    if filters.until and filters.until < date.max:
        query = query.where(AuditEntry.created_at < _midnight(filters.until + timedelta(days=1)))
    return query


def actors() -> list[User]:
    """Everyone who has an entry in the log, by email (the actor filter's choices)."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(select(AuditEntry.actor_id).where(AuditEntry.actor_id.isnot(None))))
            .order_by(User.email)
        )
    )


def target_types() -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.target_type).distinct().order_by(AuditEntry.target_type)
        )
    )


def action_names() -> list[str]:
    return list(
        db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    )


def emails(page_entries: list[AuditEntry]) -> dict[int, str]:
    """Actor id → email for one page of entries (one query, not one per row)."""
    ids = {e.actor_id for e in page_entries if e.actor_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())


# --- before → after -------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One key of an entry's before/after snapshots. ``kind`` is added, removed, changed
    or same; values are display text (JSON for anything but a plain string)."""

    key: str
    before: str | None
    after: str | None
    kind: str


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def changes(entry: AuditEntry) -> list[Change]:
    """The keys of ``before`` and ``after`` side by side, changed keys first.

    A key only in ``after`` (a reason, a reference) is "added"; only in ``before`` is
    "removed"; values equal on both sides are "same" (context, shown quietly).
    """
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    found: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            found.append(Change(key, None, _text(after[key]), "added"))
        elif key not in after:
            found.append(Change(key, _text(before[key]), None, "removed"))
        else:
            kind = "same" if before[key] == after[key] else "changed"
            found.append(Change(key, _text(before[key]), _text(after[key]), kind))
    order = {"changed": 0, "added": 1, "removed": 2, "same": 3}
    return sorted(found, key=lambda change: order[change.kind])


def _record_account_change(actor: User, **change: Any) -> None:
    record(actor, **change)


def install() -> None:
    """Staff account changes are audited (accounts does not import the audit log)."""
    from portal.accounts import signals

    signals.audited.connect(_record_account_change, weak=False)
