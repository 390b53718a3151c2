"""Bulk statements whose SQL text does not depend on how many rows they carry.

A statement with one bind parameter per row (`IN (?, ?, ...)`, multi-row `VALUES`) is a new
statement for every batch size: SQLAlchemy compiles it and the driver parses it again each
time, which cost more than the database's own work. These helpers keep the text fixed:
PostgreSQL gets arrays (`= ANY(%s)`) and COPY, SQLite a JSON array (`json_each`) and
executemany.
"""

import json
from collections.abc import Collection, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Connection,
    Dialect,
    Table,
    Text,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite


def among(conn: Connection, column: Column[Any], values: Collection[str]) -> ColumnElement[bool]:
    """`column IN values`, as one bind parameter whatever the number of values: an array
    (`= ANY`, an index condition on PostgreSQL) or a JSON array on SQLite."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(Text)))
    keys = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(keys.c.value))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that are known to be new (COPY on PostgreSQL, executemany on SQLite).

    Every row names the same columns; a key that exists already raises, as INSERT does.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    _copy(conn, table.name, rows)


def upsert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, or overwrite the non-key columns of rows whose key exists already.

    On PostgreSQL it is one statement whatever the number of rows: each column goes as one
    array, `INSERT ... SELECT * FROM unnest(...) ON CONFLICT DO UPDATE`."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    columns = list(rows[0])
    if conn.dialect.name != "postgresql":
        stmt = sqlite.insert(table)
        values = {c: stmt.excluded[c] for c in columns if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=values), list(rows))
        return
    conn.exec_driver_sql(
        _unnest_upsert(conn.dialect, table, tuple(columns)),
        tuple([row[name] for row in rows] for name in columns),
    )


def add_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL only: insert rows, or add their non-key columns to those of rows whose
    key exists already; one statement whatever the number of rows."""
    if not rows:
        return
    columns = list(rows[0])
    conn.exec_driver_sql(
        _unnest_upsert(conn.dialect, table, tuple(columns), add=True),
        tuple([row[name] for row in rows] for name in columns),
    )


@cache
def _unnest_upsert(
    dialect: Dialect, table: Table, columns: tuple[str, ...], add: bool = False
) -> str:
    """The statement's text, made once per table and set of columns: a row whose key exists
    already takes the new values, or (`add`) the sums of its own and the new ones."""
    keys = [c.name for c in table.primary_key.columns]
    names = ", ".join(f'"{name}"' for name in columns)
    arrays = ", ".join(f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    kept = f'"{table.name}".' if add else ""
    updates = ", ".join(
        f'"{c}" = {kept}"{c}" + excluded."{c}"' if add else f'"{c}" = excluded."{c}"'
        for c in columns
        if c not in keys
    )
    return (  # names and types from the table's metadata; values go as parameters
        f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays}) '  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _copy(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])
