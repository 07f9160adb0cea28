"""Many rows in one statement, and many ids in one parameter, for the batch work of
commission runs and the ledger (shared, so neither package imports the other for it).

INSERTs on PostgreSQL send the rows as one array per column and ``unnest`` turns them back
into rows (``INSERT … SELECT … FROM unnest(…)``): the server plans and runs one statement
whatever the row count, and psycopg parses a short query with one parameter per column (it
does not cache the parse of the long ``VALUES (…), (…)`` lists an executemany with RETURNING
is rewritten into). Elsewhere (SQLite) rows go through an executemany. Arrays suit numbers,
dates and short strings; a JSON column's values go as a text array of their documents,
cast back to JSON by the server (``None`` is JSON ``null``, as the JSON type stores it;
``sqlalchemy.null()`` is SQL NULL) — psycopg escapes text arrays in Python, so long JSON
documents (full of quotes) are better sent one per row.

Core statements: no ORM objects, no unit of work, no Python-side column defaults — every
row carries every column it sets, and all rows of one call carry the same columns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Row,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from portal.extensions import db


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def among(column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (…values)``; on PostgreSQL ``column = ANY(:values)``, one array parameter
    however many values: a batch's id lists would otherwise make every query long, which
    psycopg then parses afresh on each run (it caches short queries only)."""
    if on_postgresql():
        return column == any_(bindparam(None, list(values), ARRAY(column.type)))
    return column.in_(values)


def _array_type(column: Column[Any]) -> Any:
    """The type of a column's array: JSON documents travel as text."""
    return Text() if isinstance(column.type, JSON) else column.type


_NULL = null()  # SQL NULL (a singleton)


def _array_item(value: Any, json_column: bool) -> Any:
    if not json_column:
        return value
    return None if value is _NULL else json.dumps(value)


def _differs(a: Any, b: Any) -> bool:
    if a is _NULL or b is _NULL:  # a SQL construct: compared by identity
        return a is not b
    return bool(a != b)


@lru_cache(maxsize=128)
def _unnest_insert(
    table: Table,
    names: tuple[str, ...],
    varying: frozenset[str],
    returning: tuple[Column[Any], ...],
) -> Any:
    """``INSERT INTO table (names) SELECT … FROM unnest(:a_array, …) AS anon(a, …)`` with
    ``:x_value`` for the columns not in ``varying``; built once per shape (building and
    hashing a statement costs more than a small batch's rows)."""
    arrays = [name for name in names if name in varying]
    source = (
        func.unnest(
            *(
                bindparam(f"{name}_array", type_=ARRAY(_array_type(table.c[name])))
                for name in arrays
            )
        )
        .table_valued(*arrays)
        .render_derived()
    )
    columns = [
        (
            cast(source.c[name], table.c[name].type)
            if isinstance(table.c[name].type, JSON)
            else source.c[name]
        )
        if name in varying
        else bindparam(f"{name}_value", type_=table.c[name].type)
        for name in names
    ]
    statement = insert(table).from_select(names, select(*columns))
    return statement.returning(*returning) if returning else statement


def insert_rows(
    table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[Column[Any]] = ()
) -> list[Row[Any]]:
    """INSERT the rows; with ``returning``, those columns of every new row, in no particular
    order (return a unique key alongside the id to match them up)."""
    if not rows:
        return []
    if on_postgresql():
        # A column with one value in every row (the currency, the run's timestamp, …) is
        # sent once, not as an array: psycopg dumps array items one by one.
        first = rows[0]
        names = tuple(first)
        varying = frozenset(n for n in names if any(_differs(row[n], first[n]) for row in rows))
        varying = varying or frozenset(names[:1])  # one array at least: it makes the rows
        params: dict[str, Any] = {}
        for name in names:
            if name in varying:
                json_column = isinstance(table.c[name].type, JSON)
                params[f"{name}_array"] = [_array_item(row[name], json_column) for row in rows]
            else:
                params[f"{name}_value"] = first[name]
        statement = _unnest_insert(table, names, varying, tuple(returning))
        result = db.session.execute(statement, params)
        return list(result) if returning else []
    if returning:
        return list(db.session.execute(insert(table).returning(*returning), list(rows)))
    db.session.execute(insert(table), list(rows))
    return []


@lru_cache(maxsize=32)
def _recordset_update(table: Table, key: str, names: tuple[str, ...]) -> Any:
    """``UPDATE table SET … FROM json_to_recordset(:rows) AS anon(key type, …) WHERE
    table.key = anon.key``, built once per shape."""
    source = (
        func.json_to_recordset(bindparam("rows", type_=JSON))
        .table_valued(*(column(name, table.c[name].type) for name in (key, *names)))
        .render_derived(with_types=True)
    )
    return (
        update(table)
        .where(table.c[key] == source.c[key])
        .values({name: source.c[name] for name in names})
    )


def update_rows(table: Table, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE one row per mapping, found by its ``key`` column; the other keys are the
    columns to set, the same in every mapping.

    On PostgreSQL the rows travel as one JSON document, turned back into rows by
    ``json_to_recordset``: one statement and one parameter however many rows, and JSON
    values (a frozen commission context) go as they are instead of escaped into a text
    array. So the values must be what JSON holds: numbers, strings, None, JSON documents.
    Elsewhere (SQLite) an executemany."""
    if not rows:
        return
    names = tuple(name for name in rows[0] if name != key)
    if on_postgresql():
        statement = _recordset_update(table, key, names)
        db.session.execute(
            statement, {"rows": list(rows)}, execution_options={"synchronize_session": False}
        )
        return
    statement = (
        update(table)
        .where(table.c[key] == bindparam(f"b_{key}"))
        .values({name: bindparam(f"b_{name}", type_=table.c[name].type) for name in names})
    )
    # bind names must differ from the column names they set
    db.session.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])
