"""A session's lifecycle and which events it takes.

A session is `planned` when created, then `open`, then `closed`; nothing else. What it
takes by status:

- planned: nothing (409 session_not_open);
- open: every event; a check-in only on the session's days, a day either side, in the
  expo's timezone (409 occurred_outside_session);
- closed: only events that occurred before it closed (late uploads from desks that were
  offline; 409 session_closed), check-ins again only on its days.

Deals, voids and exhibitor registrations have no such window: a deal signed the week before
the expo and logged at its ceremony, a void after the expo, an exhibitor registered months
ahead are all real. An unknown session refuses everything (404 unknown_session).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.errors import DomainError, Reason
from shared.events import AttendeeCheckedIn, Event

MARGIN = timedelta(days=1)


class SessionStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


TRANSITIONS = frozenset(
    {(SessionStatus.PLANNED, SessionStatus.OPEN), (SessionStatus.OPEN, SessionStatus.CLOSED)}
)
# Which session an expo's display shows: the open one, else the latest closed, else planned.
SHOWN_FIRST = (SessionStatus.OPEN, SessionStatus.CLOSED, SessionStatus.PLANNED)


def check_transition(current: SessionStatus, wanted: SessionStatus) -> None:
    """Raise unless a `current` session may become `wanted` (staying the same is no change)."""
    if current != wanted and (current, wanted) not in TRANSITIONS:
        raise DomainError(Reason.INVALID_TRANSITION, f"a {current} session cannot become {wanted}")


@dataclass(frozen=True, slots=True)
class SessionState:
    """What admission needs of a session: its status, and its days in the expo's zone
    (dates and timezone never change once created)."""

    id: str
    status: SessionStatus
    closed_at: datetime | None
    starts_on: date
    ends_on: date
    zone: ZoneInfo

    def on_its_days(self, moment: datetime) -> bool:
        """Whether `moment` falls on the session's days, a day either side, there."""
        day = moment.astimezone(self.zone).date()
        return self.starts_on - MARGIN <= day <= self.ends_on + MARGIN


def admit(session: SessionState | None, event: Event) -> None:
    """Raise the reason `event` is refused by its session."""
    session_id, occurred_at = event.session_id, event.occurred_at
    if session is None:
        raise DomainError(Reason.UNKNOWN_SESSION, f"there is no session {session_id!r}")
    if session.status is SessionStatus.PLANNED:
        raise DomainError(
            Reason.SESSION_NOT_OPEN, f"session {session_id!r} is planned and not open yet"
        )
    if session.status is SessionStatus.CLOSED and (
        session.closed_at is None or occurred_at >= session.closed_at
    ):
        raise DomainError(
            Reason.SESSION_CLOSED,
            f"session {session_id!r} closed at {session.closed_at}; "
            "only events that occurred before that are accepted",
        )
    if isinstance(event, AttendeeCheckedIn) and not session.on_its_days(occurred_at):
        raise DomainError(
            Reason.OCCURRED_OUTSIDE_SESSION,
            f"a check-in of session {session_id!r} must occur between {session.starts_on} "
            f"and {session.ends_on}, a day either side, in {session.zone.key}",
        )
