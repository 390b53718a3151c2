"""Which sessions take events: unknown 404, planned 409, closed only for events that
occurred before it was closed (late uploads from desks that were offline), and check-ins
only on the session's days, a day either side, in the expo's timezone (409
occurred_outside_session).

Deals, voids and exhibitor registrations have no such window: a deal signed the week
before the expo and logged at its ceremony, a void after the expo, an exhibitor registered
months ahead are all real. A closed session still refuses them when they occurred after it
closed."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from shared.db import read_only
from shared.errors import DomainError, Reason
from shared.events import AttendeeCheckedIn, Event
from shared.tables import Expo, ExpoSession

SESSIONS = ExpoSession.__table__  # type: ignore[attr-defined]
EXPOS = Expo.__table__  # type: ignore[attr-defined]
MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SessionState:
    """What ingest remembers of a session: its status, and its days in the expo's zone
    (dates and timezone never change once created)."""

    id: str
    status: str
    closed_at: datetime | None
    starts_on: date
    ends_on: date
    zone: ZoneInfo

    def on_its_days(self, moment: datetime) -> bool:
        """Whether `moment` falls on the session's days, a day either side, there."""
        day = moment.astimezone(self.zone).date()
        return self.starts_on - MARGIN <= day <= self.ends_on + MARGIN


def load_sessions(engine: Engine, session_ids: Iterable[str]) -> dict[str, SessionState]:
    ids = sorted(set(session_ids))
    query = (
        select(
            SESSIONS.c.id,
            SESSIONS.c.status,
            SESSIONS.c.closed_at,
            SESSIONS.c.starts_on,
            SESSIONS.c.ends_on,
            EXPOS.c.timezone,
        )
        .join(EXPOS, EXPOS.c.id == SESSIONS.c.expo_id)
        .where(SESSIONS.c.id.in_(ids))
    )
    with read_only(engine).connect() as conn:
        return {row.id: _state(row) for row in conn.execute(query)}


def _state(row: Any) -> SessionState:
    zone = ZoneInfo(row.timezone)
    return SessionState(row.id, row.status, row.closed_at, row.starts_on, row.ends_on, zone)


def admit(session: SessionState | None, event: Event) -> None:
    """Raise the reason `event` is refused by its session."""
    session_id, occurred_at = event.session_id, event.occurred_at
    if session is None:
        raise DomainError(Reason.UNKNOWN_SESSION, f"there is no session {session_id!r}")
    if session.status == "planned":
        raise DomainError(
            Reason.SESSION_NOT_OPEN, f"session {session_id!r} is planned and not open yet"
        )
    if session.status == "closed" and (
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
