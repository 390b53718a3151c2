"""Sessions holding many events, written straight into SQL for the read-cost rows.

Posting a million events over HTTP would take longer than the whole bench may. Instead the
events are made here, folded with the project's pure fold (`shared.fold.fold`), and the
event-store rows and the projection rows (the aggregator's own row helpers) are written in
bulk: executemany on SQLite, COPY on PostgreSQL. The API then reads them as it would read
a session the aggregator had folded.

Making and folding the events is the slow part and does not depend on the database, so
it is done once per bench (`prepare`) and written to each database (`store`).
"""

import multiprocessing
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from bench.database import libpq, sqlite_connect
from bench.workload import Workload, build, key_of
from services.aggregator import records
from shared import tables
from shared.events import Event, encode_event
from shared.fold import fold
from shared.fold_state import State, Totals

CHUNK = 50_000
PARTS = 2  # worker processes making and folding events
OPENED = datetime(2025, 9, 26, 1, 0, tzinfo=UTC)
SESSION_LENGTH = timedelta(days=4)
SOURCE = "bench-seed"
EVENT_COLUMNS = tuple(tables.EVENTS.columns.keys())  # the order of _event_row's values
Row = tuple[Any, ...]
Records = dict[str, tuple[tuple[str, ...], list[Row]]]  # table -> columns, rows


@dataclass
class Seed:
    """A session's events as stored rows, and its projection rows (times as UTC text, the
    way SQLAlchemy stores them on SQLite; PostgreSQL reads the same text in UTC)."""

    session_id: str
    count: int
    events: list[Row] = field(default_factory=list)
    records: Records = field(default_factory=dict)
    seconds: float = 0.0  # spent making and folding them


@dataclass
class _Part:
    events: list[Row]
    records: Records
    country_refs: dict[str, int]
    totals: Totals
    rows: dict[tuple[str, str], dict[str, int]]  # the breakdown rows of the part


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _rows(dicts: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[Row]]:
    columns = tuple(dicts[0]) if dicts else ()
    return columns, [tuple(_text(d[c]) for c in columns) for d in dicts]


@cache
def prepare(session_id: str, count: int, seed_value: int) -> Seed:
    """Make `count` events of a session and fold them (once per process).

    Both cores work: each worker makes and folds the events whose record (attendee, deal,
    exhibitor) falls in its part. Parts share no record, so their figures add up."""
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    jobs = [(session_id, count, seed_value, part) for part in range(PARTS)]
    with ProcessPoolExecutor(PARTS, mp_context=context) as pool:
        parts = list(pool.map(_prepare_part, jobs))
    made = Seed(session_id, count)
    for part in parts:
        made.events += part.events
        for table, (columns, rows) in part.records.items():
            made.records.setdefault(table, (columns, []))[1].extend(rows)
    refs: dict[str, int] = {}
    keyed: dict[tuple[str, str], dict[str, int]] = {}
    for part in parts:
        for country, n in part.country_refs.items():
            refs[country] = refs.get(country, 0) + n
        for row, counts in part.rows.items():  # one key may count records of both parts
            kept = keyed.setdefault(row, dict.fromkeys(counts, 0))
            for counter, n in counts.items():
                kept[counter] += n
    made.records[tables.BREAKDOWN_ROWS.name] = _rows(
        [records.breakdown_row(session_id, *row, counts) for row, counts in keyed.items()]
    )
    totals = _add([part.totals for part in parts], refs)
    made.records[tables.COUNTRIES.name] = _rows(
        [records.country_row(session_id, k, n) for k, n in refs.items()]
    )
    figures = {
        "session_id": session_id,
        **totals.counts,
        "events": count,
        "as_of": totals.as_of,
        "last_revised_at": totals.last_revised_at,
        "position": f"{1_700_000_000_000 + count - 1}-0",
    }
    made.records[tables.SESSION_FIGURES.name] = _rows([figures])
    made.seconds = time.perf_counter() - started
    return made


def _prepare_part(job: tuple[str, int, int, int]) -> _Part:
    session_id, count, seed_value, part = job
    workload, state, rows = Workload(seed_value), State(), []
    step, stored_at = SESSION_LENGTH / count, _text(tables.utcnow())
    mine: list[tuple[Event, int]] = []
    for n in range(count):
        fields, event_id = workload.draw()  # every part draws all, to stay in step
        if zlib.crc32(key_of(fields).encode()) % PARTS == part:
            mine.append((build(fields, event_id, session_id, OPENED + step * n, SOURCE), n))
        if len(mine) == CHUNK or (n == count - 1 and mine):
            fold([event for event, _ in mine], state)
            rows += [_event_row(event, number, stored_at) for event, number in mine]
            mine = []
    projected = {
        tables.ATTENDEES.name: _rows(
            [records.attendee_row(session_id, k, a) for k, a in state.attendees.items()]
        ),
        tables.DEALS.name: _rows(
            [records.deal_row(session_id, k, d) for k, d in state.deals.items()]
        ),
        tables.EXHIBITORS.name: _rows(
            [records.exhibitor_row(session_id, k, x) for k, x in state.exhibitors.items()]
        ),
    }
    return _Part(rows, projected, state.country_refs, state.totals, state.rows)


def _add(parts: Sequence[Totals], refs: dict[str, int]) -> Totals:
    """The totals of parts that share no attendee, deal or exhibitor: counters added, the
    countries recounted from the merged references, the latest times."""
    merged = Totals()
    for part in parts:
        for counter, n in part.counts.items():
            merged.counts[counter] += n
    merged.as_of = max((p.as_of for p in parts if p.as_of), default=None)
    merged.last_revised_at = max(
        (p.last_revised_at for p in parts if p.last_revised_at), default=None
    )
    merged.counts["countries"] = sum(1 for n in refs.values() if n > 0)
    return merged


def store(database_url: str, made: Seed) -> float:
    """Write a prepared session into a database; returns the seconds it took."""
    started = time.perf_counter()
    with _writer(database_url) as writer:
        for first in range(0, len(made.events), CHUNK):
            writer.write(tables.EVENTS.name, EVENT_COLUMNS, made.events[first : first + CHUNK])
        writer.clear(
            tables.SESSION_FIGURES.name, made.session_id
        )  # the API made an empty one for it
        for table, (columns, rows) in made.records.items():
            if rows:
                writer.write(table, columns, rows)
    return time.perf_counter() - started


def _event_row(event: Event, number: int, stored_at: str) -> Row:
    """As the aggregator stores an event (services/aggregator/projection.py store_new)."""
    return (
        event.session_id,
        str(event.event_id),
        event.type,
        _text(event.occurred_at),
        _text(event.recorded_at),
        event.schema_version,
        event.source,
        f"{1_700_000_000_000 + number}-0",
        encode_event(event).decode(),
        stored_at,
    )


class Writer(Protocol):
    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def clear(self, table: str, session_id: str) -> None: ...


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
        pg.execute("SET TIME ZONE 'UTC'")  # the times are UTC text
        yield _CopyWriter(pg)


class _SqliteWriter:
    """executemany, one transaction per call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(statement, rows)
        self.conn.execute("COMMIT")

    def clear(self, table: str, session_id: str) -> None:
        self.conn.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id])  # noqa: S608


class _CopyWriter:
    """COPY … FROM STDIN, one transaction per call."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        self.conn.commit()

    def clear(self, table: str, session_id: str) -> None:
        statement = sql.SQL("DELETE FROM {} WHERE session_id = %s").format(sql.Identifier(table))
        self.conn.execute(statement, [session_id])
        self.conn.commit()
