"""`expo rebuild`: recompute projections from the event store, through the same fold."""

import logging
from collections.abc import Sequence

from sqlalchemy import Engine, select, union

from services.aggregator.projection import (
    EVENTS,
    FIGURES,
    event_rows_at,
    lock_session,
    project,
    reset,
)
from shared.events import decode_event

logger = logging.getLogger(__name__)
CHUNK = 5000


def rebuild(engine: Engine, session_ids: Sequence[str] = ()) -> dict[str, int]:
    """Rebuild the given sessions (all when none given) in one transaction; returns the
    number of events folded per session."""
    folded: dict[str, int] = {}
    with engine.begin() as conn:
        ids = list(session_ids) or sorted(
            conn.execute(union(select(EVENTS.c.session_id), select(FIGURES.c.session_id))).scalars()
        )
        for session_id in ids:
            lock_session(conn, session_id)
        reset(conn, ids)
        for session_id in ids:
            after, count = "", 0
            while rows := event_rows_at(conn, session_id, after, CHUNK):
                project(conn, session_id, [decode_event(row.payload) for row in rows])
                after, count = rows[-1].event_id, count + len(rows)
            folded[session_id] = count
            logger.info("rebuilt session %s from %d stored events", session_id, count)
    return folded
