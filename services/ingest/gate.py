"""Which sessions take events: unknown 404, planned 409, closed only for events that
occurred before it was closed (late uploads from desks that were offline)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from shared.db import read_only
from shared.problem import DomainError, Reason
from shared.tables import ExpoSession

SESSIONS = ExpoSession.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SessionState:
    id: str
    status: str
    closed_at: datetime | None


def load_sessions(engine: Engine, session_ids: Iterable[str]) -> dict[str, SessionState]:
    ids = sorted(set(session_ids))
    with read_only(engine).connect() as conn:
        rows = conn.execute(
            select(SESSIONS.c.id, SESSIONS.c.status, SESSIONS.c.closed_at).where(
                SESSIONS.c.id.in_(ids)
            )
        )
        return {row.id: SessionState(row.id, row.status, row.closed_at) for row in rows}


def admit(session: SessionState | None, session_id: str, occurred_at: datetime) -> None:
    """Raise the reason an event of `session_id` that occurred at `occurred_at` is refused."""
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
