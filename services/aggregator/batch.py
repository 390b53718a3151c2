"""What the aggregator does with a batch read off a stream, each in ONE SQL transaction:
store the session's new events and fold them into its projections, or keep refused scans.
Nothing here knows Redis: the caller acks only after these return (exactly-once effect)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from services.aggregator import rejections
from services.aggregator.event_store import Entry, Folded, store_new
from services.aggregator.projection import folding_of, lock_session, project
from shared.fold_state import Conflict
from shared.rejection import RejectedScan


@dataclass(frozen=True)
class FoldedBatch:
    """A committed batch: the events new to the store (how each was folded), how many
    entries were events already stored, and the deal conflicts the fold noticed."""

    new: list[Folded]
    duplicates: int
    conflicts: list[Conflict]


def fold_batch(
    engine: Engine, session_id: str, entries: Sequence[Entry], late_after: timedelta
) -> FoldedBatch:
    """Store the entries' events the session does not hold yet and fold exactly those.

    The session's figures row is locked first, so two folds of one session (by several
    aggregators) never interleave."""
    with engine.begin() as conn:
        figures = lock_session(conn, session_id)
        folding = folding_of(conn, session_id, late_after)
        new = store_new(conn, session_id, entries, folding)
        positions = [e.position for e in entries]
        conflicts = project(conn, session_id, new, positions, figures)
    return FoldedBatch(new, len(entries) - len(new), conflicts)


def keep_rejected(engine: Engine, scans: Sequence[RejectedScan]) -> int:
    """Keep each refused scan once (by its session and event id); returns how many were new."""
    with engine.begin() as conn:
        return rejections.store(conn, scans)
