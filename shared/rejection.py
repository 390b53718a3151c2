"""Scans refused at ingest for a reason other than malformed input, kept for statistics as
check-in systems do: unknown, planned or closed session, a token of another session, a
scan dated outside the session's days (a desk with a wrong clock)."""

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from shared.errors import DomainError, Reason
from shared.events import AttendeeCheckedIn, Event

# One hash tag for both keys: a replay moves an entry between them in one transaction.
STREAM = "expo:{rejected-scans}:scans"
DEAD_LETTERS = "expo:{rejected-scans}:dead"
FIELD = b"scan"
MAX_ENTRIES = 1_000_000  # approximate cap on the stream; SQL keeps every folded one
RECORDED = frozenset(
    {
        Reason.UNKNOWN_SESSION,
        Reason.SESSION_NOT_OPEN,
        Reason.SESSION_CLOSED,
        Reason.WRONG_SESSION,
        Reason.OCCURRED_OUTSIDE_SESSION,
    }
)


class RejectedScan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    session_id: str
    reason: Reason
    attendee_id: str
    desk_id: str | None
    source: str
    occurred_at: AwareDatetime
    received_at: AwareDatetime


def of(event: Event, error: DomainError) -> RejectedScan | None:
    """The record of a refused scan, or None when the refusal is not one we keep."""
    if not isinstance(event, AttendeeCheckedIn) or error.reason not in RECORDED:
        return None
    scanned = {"event_id", "session_id", "attendee_id", "desk_id", "source", "occurred_at"}
    return RejectedScan(
        **event.model_dump(include=scanned), reason=error.reason, received_at=event.recorded_at
    )


def to_fields(scan: RejectedScan) -> dict[bytes, bytes]:
    return {FIELD: scan.model_dump_json().encode()}


def from_fields(fields: dict[bytes, bytes]) -> RejectedScan:
    return RejectedScan.model_validate_json(fields.get(FIELD, b""))
