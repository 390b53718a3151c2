"""The event store: every event a session was sent, once (by its event id within the
session), in the transaction that folds it; and read back in order for rebuilds."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection, select

from shared.bulk import among, insert_rows
from shared.events import Event, encode_event
from shared.fold_state import Folding
from shared.tables import EVENTS, utcnow

# A new event and how it was folded (when it was stored, and what made that late).
Folded = tuple[Event, Folding]
FoldingAt = partial[Folding]


@dataclass(frozen=True, slots=True)
class Entry:
    """An event as it came off a stream, with the entry id it came from."""

    position: str
    event: Event


def store_new(
    conn: Connection, session_id: str, entries: Sequence[Entry], folding: FoldingAt
) -> list[Folded]:
    """Insert into the event store the events of the session it does not hold yet; returns
    those, folded now.

    Which ones are new is read first and then they are inserted plainly: the session lock
    keeps another fold of this session from storing them in between. An event is its
    event_id within its session: the same id in another session is another event."""
    unique: dict[str, Entry] = {}
    for entry in entries:
        if entry.event.session_id != session_id:
            msg = f"entry {entry.position} holds an event of another session, not {session_id!r}"
            raise ValueError(msg)
        # Two entries under one event_id (ingest's idempotency window had passed): the one
        # delivered first is the event, as it is when they come in separate batches.
        unique.setdefault(str(entry.event.event_id), entry)
    if not unique:
        return []
    known = set(
        conn.execute(
            select(EVENTS.c.event_id).where(
                EVENTS.c.session_id == session_id, among(conn, EVENTS.c.event_id, unique)
            )
        ).scalars()
    )
    new = {event_id: e for event_id, e in unique.items() if event_id not in known}
    stored_at = utcnow()
    rows = [
        {
            "event_id": event_id,
            "session_id": e.event.session_id,
            "type": e.event.type,
            "occurred_at": e.event.occurred_at,
            "recorded_at": e.event.recorded_at,
            "schema_version": e.event.schema_version,
            "source": e.event.source,
            "position": e.position,
            "payload": encode_event(e.event).decode(),
            "stored_at": stored_at,
        }
        for event_id, e in new.items()
    ]
    insert_rows(conn, EVENTS, rows)
    now = folding(stored_at)
    return [(e.event, now) for e in new.values()]


def event_rows_at(conn: Connection, session_id: str, after: str, limit: int) -> list[Any]:
    """Stored events of a session in event_id order, for rebuilds."""
    return list(
        conn.execute(
            select(EVENTS.c.event_id, EVENTS.c.payload, EVENTS.c.stored_at)
            .where(EVENTS.c.session_id == session_id, EVENTS.c.event_id > after)
            .order_by(EVENTS.c.event_id)
            .limit(limit)
        )
    )
