"""`expo rebuild`: recompute projections from the event store, through the same fold."""

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine, select, union

from services.aggregator.projection import (
    EVENTS,
    FIGURES,
    event_rows_at,
    folding_of,
    lock_session,
    project,
    reset,
)
from shared.events import decode_event
from shared.fold import LATE_AFTER

logger = logging.getLogger(__name__)
CHUNK = 5000


def rebuild(
    engine: Engine, session_ids: Sequence[str] = (), late_after: timedelta = LATE_AFTER
) -> dict[str, int]:
    """Rebuild the given sessions (all when none given) in one transaction; returns the
    number of events folded per session. Each event counts as folded when it was first
    stored, so revisions come out as the live fold made them."""
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
            folding = folding_of(conn, session_id, late_after)
            while rows := event_rows_at(conn, session_id, after, CHUNK):
                events = [(decode_event(row.payload), folding(row.stored_at)) for row in rows]
                project(conn, session_id, events)
                after, count = rows[-1].event_id, count + len(rows)
            folded[session_id] = count
            logger.info("rebuilt session %s from %d stored events", session_id, count)
    return folded
