"""What a display body is made of: the expo's version (one small indexed query that moves
with every change a screen would show) and the body rendered from the projections."""

from typing import Any

from sqlalchemy import Connection

from services.api import freshness
from services.api.freshness import Backlog
from services.api.projections import expo_version
from services.api.schemas import Display, DisplaySession, RevisionsPublic
from services.api.standing import Part, expo_parts
from shared.errors import DomainError, Reason
from shared.figures import total
from shared.fold_state import Revisions
from shared.session import SHOWN_FIRST


def version_of(conn: Connection, expo_id: str) -> tuple[tuple[Any, ...], ...]:
    """The expo's version (see `projections.expo_version`); there must be such an expo."""
    version = expo_version(conn, expo_id)
    if not version:
        raise DomainError(Reason.UNKNOWN_EXPO, f"there is no expo {expo_id!r}")
    return version


def _shown(parts: list[Part]) -> Part | None:
    """The open session (the latest, if several), else the latest that is not planned."""
    sessions = [p for p in parts if p.session is not None]
    for wanted in SHOWN_FIRST:
        candidates = [p for p in sessions if p.session and p.session.status == wanted]
        if candidates:
            return candidates[-1]
    return None


def render(
    conn: Connection, expo_id: str, expo_name: str, backlogs: dict[str, Backlog | None]
) -> bytes:
    """The body; `backlogs` are the sessions' events not folded yet, read before `conn`
    read any figures (a session missing from them is taken to have none)."""
    parts = expo_parts(conn, expo_id)
    shown = _shown(parts)
    upto = [p for p in parts if shown is None or p.last_ordinal <= shown.last_ordinal]
    fresh = freshness.combined(
        freshness.freshness(p.as_of, backlogs.get(p.session.id, freshness.NONE))
        for p in upto
        if p.session is not None
    )
    body = Display(
        **fresh.model_dump(),
        expo_id=expo_id,
        expo_name=expo_name,
        editions=max((p.last_ordinal for p in upto), default=0),
        session=None
        if shown is None or shown.session is None
        else DisplaySession(
            id=shown.session.id,
            name=shown.session.name,
            ordinal=shown.session.ordinal,
            status=shown.session.status,
            as_of=shown.as_of,
            revisions=RevisionsPublic.of(shown.revisions or Revisions()),
        ),
        current=None if shown is None else shown.tally.compact(),
        cumulative=total(p.tally for p in upto).compact(),
    )
    return body.model_dump_json().encode()
