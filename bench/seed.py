"""Sessions holding many events, written straight into SQL for the read-cost rows.

Posting a million events over HTTP would take longer than the whole bench may. Instead the
events are made here, folded with the project's pure fold (`shared.fold.fold`), and the
event-store rows and the projection rows (the aggregator's own row helpers) are written in
bulk: executemany on SQLite, COPY on PostgreSQL. The API then reads them as it would read
a session the aggregator had folded.
"""

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
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


class Writer(Protocol):
    def write(self, table: Table, rows: Sequence[dict[str, Any]]) -> None: ...

    def clear(self, table: Table, session_id: str) -> None: ...


def seed(database_url: str, session_id: str, count: int, seed_value: int) -> float:
    """Store and fold `count` events of a session; returns the seconds it took."""
    started = time.perf_counter()
    workload, state = Workload(seed_value), State()
    step = SESSION_LENGTH / count
    with _writer(database_url) as writer:
        for first in range(0, count, CHUNK):
            numbers = range(first, min(count, first + CHUNK))
            events = [workload.event(session_id, OPENED + step * n, SOURCE) for n in numbers]
            fold(events, state)
            now = utcnow()
            rows = [_event_row(e, n, now) for e, n in zip(events, numbers, strict=True)]
            writer.write(EVENTS, rows)
        _write_projections(writer, session_id, state, count)
    return time.perf_counter() - started


def _event_row(event: Event, number: int, stored_at: datetime) -> dict[str, Any]:
    """As the aggregator stores an event (services/aggregator/projection.py store_new)."""
    return {
        "event_id": str(event.event_id),
        "session_id": event.session_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "schema_version": event.schema_version,
        "source": event.source,
        "position": f"{1_700_000_000_000 + number}-0",
        "payload": encode_event(event).decode(),
        "stored_at": stored_at,
    }


def _write_projections(writer: Writer, session_id: str, state: State, count: int) -> None:
    writer.write(ATTENDEES, [attendee_row(session_id, k, a) for k, a in state.attendees.items()])
    writer.write(DEALS, [deal_row(session_id, k, d) for k, d in state.deals.items()])
    writer.write(EXHIBITORS, [exhibitor_row(session_id, k, x) for k, x in state.exhibitors.items()])
    writer.write(COUNTRIES, [country_row(session_id, k, n) for k, n in state.country_refs.items()])
    figures = {
        "session_id": session_id,
        **counters(state.totals),
        "events": count,
        "as_of": state.totals.as_of,
        "position": f"{1_700_000_000_000 + count - 1}-0",
    }
    writer.clear(FIGURES, session_id)  # the API makes an empty one when a session opens
    writer.write(FIGURES, [figures])


@contextmanager
def _writer(database_url: str) -> Iterator[Writer]:
    if make_url(database_url).get_backend_name() == "sqlite":
        conn = sqlite_connect(database_url)
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB for this connection only
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

    def write(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        convert = [(c, table.c[c].type.bind_processor(self.dialect)) for c in columns]
        values = [tuple(f(row[c]) if f else row[c] for c, f in convert) for row in rows]
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

    def write(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        self.conn.commit()

    def clear(self, table: Table, session_id: str) -> None:
        self.conn.execute(f"DELETE FROM {table.name} WHERE session_id = %s", [session_id])  # noqa: S608
        self.conn.commit()
