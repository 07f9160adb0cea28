"""Append-only enforcement for the ledger (and other history tables) at the ORM level.

The database refuses UPDATE and DELETE on ``ledger_entries`` too (triggers created by the
migration); this guard makes the mistake fail earlier, with a clear message, in any code
path that goes through the session.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session


class AppendOnlyViolation(RuntimeError):
    pass


# The tables of the models that say ``__append_only__ = True`` (each history model says so
# itself: the ledger does not import the packages that keep one), read by :func:`install`
# once every model is imported.
_TABLES: set[str] = set()


def _append_only_tables() -> set[str]:
    return _TABLES


def _check_flush(session: Session, flush_context: Any, instances: Any) -> None:
    tables = _append_only_tables()
    for obj in session.deleted:
        if getattr(obj, "__tablename__", None) in tables:
            raise AppendOnlyViolation(f"{obj.__tablename__} is append-only: cannot delete")
    for obj in session.dirty:
        if getattr(obj, "__tablename__", None) in tables and session.is_modified(obj):
            raise AppendOnlyViolation(f"{obj.__tablename__} is append-only: cannot update")


def _check_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name in _append_only_tables():
        raise AppendOnlyViolation(f"{table.name} is append-only: no bulk update or delete")


def install(session_class: type[Session] = Session) -> None:
    """Listen on every ORM session (idempotent: create_app may run many times)."""
    from portal.extensions import db

    _TABLES.update(
        mapper.class_.__tablename__
        for mapper in db.Model.registry.mappers
        if getattr(mapper.class_, "__append_only__", False)
    )
    for name, listener in (("before_flush", _check_flush), ("do_orm_execute", _check_bulk)):
        if not event.contains(session_class, name, listener):
            event.listen(session_class, name, listener)
