"""`expo rebuild --check`: fold the event store again, apart from the live projections, and
say where they differ.

The shadow is the pure fold run in memory over every stored event of a session, turned into
the rows the projection would hold; the live rows are read from SQL. Nothing is written.
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from services.aggregator.event_store import event_rows_at
from services.aggregator.projection import all_session_ids, folding_of, rows_of
from services.aggregator.rebuild import Progress, events_of, known_sessions
from services.aggregator.records import (
    attendee_row,
    breakdown_row,
    country_row,
    deal_row,
    exhibitor_row,
)
from shared.db import is_sqlite, read_only
from shared.events import decode_event
from shared.fold import LATE_AFTER, apply
from shared.fold_state import State
from shared.vocabulary import KEYED_COUNTERS

Rows = dict[tuple[Any, ...], dict[str, Any]]
CHUNK = 5000
# Tables whose row counts while one of these is not 0; a row of zeros is the same as none.
COUNTED = {"country_ref": ("refs",), "breakdown_row": KEYED_COUNTERS}
SHOWN = 20  # differences listed per table and session


def check(
    engine: Engine,
    session_ids: Sequence[str] = (),
    late_after: timedelta = LATE_AFTER,
    progress: Progress | None = None,
) -> list[str]:
    """The differences between a rebuild and the live projections; empty when equal.
    Raises UnknownSessionsError when a session asked for does not exist."""
    differences: list[str] = []
    with _snapshot(engine).connect() as conn:
        known_sessions(conn, session_ids)
        ids = list(session_ids) or all_session_ids(conn)
        told = _Told(progress, events_of(conn, ids) if progress else 0)
        for session_id in ids:
            differences += _session(conn, session_id, late_after, told)
        told(0)
    return differences


class _Told:
    """Adds up the events folded so far and tells the progress callable, if any."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, count: int) -> None:
        self.done += count
        if self.progress:
            self.progress(self.done, self.total)


def _snapshot(engine: Engine) -> Engine:
    """Reads that see one state of the database while aggregators go on committing: a
    deferred transaction on SQLite (WAL), REPEATABLE READ on PostgreSQL, whose default
    (READ COMMITTED) would read the events and the projections at different moments."""
    reader = read_only(engine)
    if is_sqlite(engine):
        return reader
    return reader.execution_options(isolation_level="REPEATABLE READ")


def _session(conn: Connection, session_id: str, late_after: timedelta, told: _Told) -> list[str]:
    state = State()
    folding = folding_of(conn, session_id, late_after)
    for chunk in _stored(conn, session_id):
        for payload, stored_at in chunk:
            state.absorb(apply(state, decode_event(payload), folding(stored_at)))
        told(len(chunk))
    shadow: dict[str, Rows] = {
        "session_figures": {(session_id,): _figures(session_id, state)},
        "breakdown_row": _keyed(
            (breakdown_row(session_id, *r, c) for r, c in state.rows.items() if any(c.values())),
            size=3,
        ),
        "attendee_record": _keyed(
            attendee_row(session_id, k, a) for k, a in state.attendees.items()
        ),
        "deal_record": _keyed(deal_row(session_id, k, d) for k, d in state.deals.items()),
        "exhibitor_record": _keyed(
            exhibitor_row(session_id, k, x) for k, x in state.exhibitors.items()
        ),
        "country_ref": _keyed(
            country_row(session_id, k, n) for k, n in state.country_refs.items() if n
        ),
    }
    differences = []
    for table, rows in shadow.items():
        differences += _compare(session_id, table, _live(conn, table, session_id, rows), rows)
    return differences


def _stored(conn: Connection, session_id: str) -> Iterator[list[tuple[str, Any]]]:
    """The stored events of the session (the event store holds each once) in chunks, each
    as its payload and when it was stored."""
    after = ""
    while rows := event_rows_at(conn, session_id, after, CHUNK):
        yield [(row.payload, row.stored_at) for row in rows]
        after = rows[-1].event_id


def _figures(session_id: str, state: State) -> dict[str, Any]:
    totals = state.totals
    return {
        "session_id": session_id,
        **totals.counts,
        "as_of": totals.as_of,
        "last_revised_at": totals.last_revised_at,
    }


def _nothing_folded(session_id: str) -> Rows:
    """The figures of a session with no events."""
    return {(session_id,): _figures(session_id, State())}


def _keyed(rows: Iterable[dict[str, Any]], size: int = 2) -> Rows:
    """Rows by their key: the first `size` values (the session and the record's id)."""
    return {tuple(list(row.values())[:size]): row for row in rows}


def _live(conn: Connection, table: str, session_id: str, shadow: Rows) -> Rows:
    columns = list(next(iter(shadow.values()), {}).keys())
    found: Rows = {}
    for values in rows_of(conn, table, session_id, columns):
        if table in COUNTED and not any(values[c] for c in COUNTED[table]):
            continue  # no longer counting anything: the same as no row
        if table == "session_figures":
            found[session_id,] = values
        else:
            found |= _keyed([values], size=3 if table == "breakdown_row" else 2)
    if table == "session_figures" and not found and shadow == _nothing_folded(session_id):
        return shadow  # no fold has reached the session yet, so it has no figures row
    return found


def _compare(session_id: str, table: str, live: Rows, shadow: Rows) -> list[str]:
    lines = []
    for key in sorted(live.keys() | shadow.keys(), key=str):
        mine, theirs = live.get(key), shadow.get(key)
        if mine == theirs:
            continue
        what = ", ".join(map(str, key[1:])) or "totals"
        if mine is None:
            lines.append(f"{session_id} {table} {what}: missing live, rebuild has {theirs}")
        elif theirs is None:
            lines.append(f"{session_id} {table} {what}: live has {mine}, rebuild has none")
        else:
            fields = [
                f"{c} live {mine[c]!r} rebuilt {theirs[c]!r}"
                for c in mine
                if mine[c] != theirs.get(c)
            ]
            lines.append(f"{session_id} {table} {what}: " + "; ".join(fields))
    if len(lines) > SHOWN:
        lines = [*lines[:SHOWN], f"{session_id} {table}: … and {len(lines) - SHOWN} more"]
    return lines
