"""`expo rebuild`: recompute projections from the event store, through the same fold."""

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

from sqlalchemy import Connection, Engine, func, select

from services.aggregator.event_store import event_rows_at
from services.aggregator.projection import (
    all_session_ids,
    folding_of,
    lock_session,
    project,
    reset,
)
from shared.events import decode_event
from shared.fold import LATE_AFTER
from shared.tables import EVENTS, SESSIONS

logger = logging.getLogger(__name__)
CHUNK = 5000

Progress = Callable[[int, int], None]  # told (events folded so far, events to fold)


class UnknownSessionsError(LookupError):
    """Sessions asked for by id that the database does not hold."""

    def __init__(self, missing: list[str]) -> None:
        names = ", ".join(repr(s) for s in missing)
        super().__init__(
            f"there is no session {names}"
            if len(missing) == 1
            else f"there are no sessions {names}"
        )


def known_sessions(conn: Connection, session_ids: Sequence[str]) -> None:
    """Raise UnknownSessionsError unless every session asked for exists."""
    found = set(conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.id.in_(session_ids))).scalars())
    if missing := [s for s in session_ids if s not in found]:
        raise UnknownSessionsError(missing)


def events_of(conn: Connection, session_ids: Sequence[str]) -> int:
    """How many events the event store holds for these sessions."""
    counted = select(func.count()).where(EVENTS.c.session_id.in_(session_ids))
    return int(conn.execute(counted).scalar_one())


def rebuild(
    engine: Engine,
    session_ids: Sequence[str] = (),
    late_after: timedelta = LATE_AFTER,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Rebuild the given sessions (all when none given) in one transaction; returns the
    number of events folded per session. Each event counts as folded when it was first
    stored, so revisions come out as the live fold made them. Raises UnknownSessionsError,
    writing nothing, when a session asked for does not exist."""
    folded: dict[str, int] = {}
    with engine.begin() as conn:
        known_sessions(conn, session_ids)
        ids = list(session_ids) or all_session_ids(conn)
        for session_id in ids:
            lock_session(conn, session_id)
        reset(conn, ids)
        total, done = (events_of(conn, ids) if progress else 0), 0
        for session_id in ids:
            folded[session_id] = 0
            for count in _folded_chunks(conn, session_id, late_after):
                folded[session_id] += count
                done += count
                if progress:
                    progress(done, total)
            logger.info("rebuilt session %s from %d stored events", session_id, folded[session_id])
        if progress:
            progress(done, total)
    return folded


def _folded_chunks(conn: Connection, session_id: str, late_after: timedelta) -> Iterator[int]:
    """Fold the session's stored events in chunks; yields the size of each chunk folded."""
    after = ""
    folding = folding_of(conn, session_id, late_after)
    while rows := event_rows_at(conn, session_id, after, CHUNK):
        events = [(decode_event(row.payload), folding(row.stored_at)) for row in rows]
        project(conn, session_id, events)
        after = rows[-1].event_id
        yield len(rows)
