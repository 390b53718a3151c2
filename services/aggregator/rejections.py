"""Folding the rejected-scans stream into SQL: each refused scan kept once, by its session
and event id."""

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from shared.rejection import RejectedScan
from shared.tables import REJECTED_SCANS

# Scans a statement carries: PostgreSQL takes at most 65,535 parameters, 8 a scan.
CHUNK = 1000


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
    values = list(rows.values())
    new = 0
    for start in range(0, len(values), CHUNK):
        stmt = dialect.insert(REJECTED_SCANS).values(values[start : start + CHUNK])
        stmt = stmt.on_conflict_do_nothing().returning(REJECTED_SCANS.c.event_id)
        new += len(conn.execute(stmt).all())
    return new
