"""Sessions holding many events, written straight into SQL for the read-cost rows.

Posting a million events over HTTP would take longer than the whole bench may. Instead the
events are made here, folded with the project's pure fold (`shared.fold.fold`), and the
event-store rows and the projection rows (the aggregator's own row helpers) are written in
bulk: executemany on SQLite, COPY on PostgreSQL. The API then reads them as it would read
a session the aggregator had folded.

Making and folding the events is the slow part and does not depend on the database, so
it is done once per bench (`prepare`) and written to each database (`store`).
"""

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

import psycopg
from psycopg import sql
from sqlalchemy import Table, make_url
from sqlalchemy.dialects import sqlite

from bench.database import libpq, sqlite_connect
from bench.workload import Workload
from services.aggregator.projection import (
    ATTENDEES,
    COUNTRIES,
    DEALS,
    EVENTS,
    EXHIBITORS,
    FIGURES,
    attendee_row,
    counters,
    country_row,
    deal_row,
    exhibitor_row,
)
from shared.events import Event, encode_event
from shared.fold import State, fold
from shared.tables import utcnow

CHUNK = 50_000
OPENED = datetime(2025, 9, 26, 1, 0, tzinfo=UTC)
SESSION_LENGTH = timedelta(days=4)
SOURCE = "bench-seed"
EVENT_COLUMNS = (
    "event_id",
    "session_id",
    "type",
    "occurred_at",
    "recorded_at",
    "schema_version",
    "source",
    "position",
    "payload",
    "stored_at",
)
Row = tuple[Any, ...]


@dataclass
class Seed:
    """A session's events as stored rows, and its projection rows."""

    session_id: str
    count: int
    events: list[Row] = field(default_factory=list)
    projections: list[tuple[Table, list[dict[str, Any]]]] = field(default_factory=list)
    seconds: float = 0.0  # spent making and folding them


@cache
def prepare(session_id: str, count: int, seed_value: int) -> Seed:
    """Make `count` events of a session and fold them (once per process)."""
    started = time.perf_counter()
    made, workload, state = Seed(session_id, count), Workload(seed_value), State()
    step, stored_at = SESSION_LENGTH / count, utcnow()
    for first in range(0, count, CHUNK):
        numbers = range(first, min(count, first + CHUNK))
        events = [workload.event(session_id, OPENED + step * n, SOURCE) for n in numbers]
        fold(events, state)
        made.events += [_event_row(e, n, stored_at) for e, n in zip(events, numbers, strict=True)]
    made.projections = _projections(session_id, state, count)
    made.seconds = time.perf_counter() - started
    return made


def store(database_url: str, made: Seed) -> float:
    """Write a prepared session into a database; returns the seconds it took."""
    started = time.perf_counter()
    with _writer(database_url) as writer:
        for first in range(0, len(made.events), CHUNK):
            writer.write(EVENTS, EVENT_COLUMNS, made.events[first : first + CHUNK])
        writer.clear(FIGURES, made.session_id)  # the API made an empty one for the session
        for table, rows in made.projections:
            if rows:
                columns = tuple(rows[0])
                writer.write(table, columns, [tuple(r[c] for c in columns) for r in rows])
    return time.perf_counter() - started


def _event_row(event: Event, number: int, stored_at: datetime) -> Row:
    """As the aggregator stores an event (services/aggregator/projection.py store_new)."""
    return (
        str(event.event_id),
        event.session_id,
        event.type,
        event.occurred_at,
        event.recorded_at,
        event.schema_version,
        event.source,
        f"{1_700_000_000_000 + number}-0",
        encode_event(event).decode(),
        stored_at,
    )


def _projections(
    session_id: str, state: State, count: int
) -> list[tuple[Table, list[dict[str, Any]]]]:
    figures = {
        "session_id": session_id,
        **counters(state.totals),
        "events": count,
        "as_of": state.totals.as_of,
        "position": f"{1_700_000_000_000 + count - 1}-0",
    }
    return [
        (ATTENDEES, [attendee_row(session_id, k, a) for k, a in state.attendees.items()]),
        (DEALS, [deal_row(session_id, k, d) for k, d in state.deals.items()]),
        (EXHIBITORS, [exhibitor_row(session_id, k, x) for k, x in state.exhibitors.items()]),
        (COUNTRIES, [country_row(session_id, k, n) for k, n in state.country_refs.items()]),
        (FIGURES, [figures]),
    ]


class Writer(Protocol):
    def write(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def clear(self, table: Table, session_id: str) -> None: ...


@contextmanager
def _writer(database_url: str) -> Iterator[Writer]:
    if make_url(database_url).get_backend_name() == "sqlite":
        conn = sqlite_connect(database_url)
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB, for this connection only
        try:
            yield _SqliteWriter(conn)
        finally:
            conn.close()
        return
    with psycopg.connect(libpq(database_url)) as pg:
        yield _CopyWriter(pg)


class _SqliteWriter:
    """executemany with the column types' own conversions, one transaction per call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.dialect = sqlite.dialect()

    def write(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        convert = [table.c[c].type.bind_processor(self.dialect) for c in columns]
        values = [
            tuple(f(v) if f else v for f, v in zip(convert, row, strict=True)) for row in rows
        ]
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(statement, values)
        self.conn.execute("COMMIT")

    def clear(self, table: Table, session_id: str) -> None:
        self.conn.execute(f"DELETE FROM {table.name} WHERE session_id = ?", [session_id])  # noqa: S608


class _CopyWriter:
    """COPY … FROM STDIN, one transaction per call."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def write(self, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()

    def clear(self, table: Table, session_id: str) -> None:
        statement = sql.SQL("DELETE FROM {} WHERE session_id = %s").format(
            sql.Identifier(table.name)
        )
        self.conn.execute(statement, [session_id])
        self.conn.commit()
