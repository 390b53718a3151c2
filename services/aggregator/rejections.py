"""Folding the rejected-scans stream into SQL: each refused scan kept once, by its session
and event id."""

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from shared.rejection import RejectedScan
from shared.tables import REJECTED_SCANS


def store(conn: Connection, scans: Sequence[RejectedScan]) -> int:
    """Insert the scans not stored yet; returns how many were new."""
    if not scans:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = {
        (scan.session_id, str(scan.event_id)): {
            "event_id": str(scan.event_id),
            "session_id": scan.session_id,
            "reason": scan.reason.value,
            "attendee_id": scan.attendee_id,
            "desk_id": scan.desk_id,
            "source": scan.source,
            "occurred_at": scan.occurred_at,
            "received_at": scan.received_at,
        }
        for scan in scans
    }
    stmt = dialect.insert(REJECTED_SCANS).values(list(rows.values())).on_conflict_do_nothing()
    return len(list(conn.execute(stmt.returning(REJECTED_SCANS.c.event_id))))
