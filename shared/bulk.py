"""Bulk statements whose SQL text does not depend on how many rows they carry.

A statement with one bind parameter per row (`IN (?, ?, ...)`, multi-row `VALUES`) is a new
statement for every batch size: SQLAlchemy compiles it and the driver parses it again each
time, which cost more than the database's own work. These helpers keep the text fixed:
PostgreSQL gets arrays (`= ANY(%s)`) and COPY, SQLite a JSON array (`json_each`) and
executemany.
"""

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Connection,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

STAGE_FROM = 200  # rows: below this, the temporary table's statements cost more than they save


def among(conn: Connection, column: Column[Any], values: Collection[str]) -> ColumnElement[bool]:
    """`column IN values`, as one bind parameter whatever the number of values."""
    if conn.dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(Text))
        keys = func.unnest(array).table_valued("value").render_derived()
    else:
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

    On PostgreSQL many rows are copied into a temporary table (emptied at commit) and
    merged from there in one statement; a few go as one statement per row, pipelined."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    columns = list(rows[0])
    if conn.dialect.name != "postgresql" or len(rows) < STAGE_FROM:
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table)
        values = {c: stmt.excluded[c] for c in columns if c not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=values), list(rows))
        return
    staging = f"staged_{table.name}"
    names = ", ".join(f'"{name}"' for name in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in keys)
    conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" '
        f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
    )
    _copy(conn, staging, rows)
    conn.exec_driver_sql(  # names from the table's metadata, values only through COPY
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" '  # noqa: S608
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql(f'DELETE FROM "{staging}"')  # noqa: S608 - emptied for the next merge


def _copy(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])
