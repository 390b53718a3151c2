"""Where an expo stands: each edition's figures (baselines and sessions, in ordinal order),
read from the projections in a handful of queries."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, func, select

from services.api import schemas
from services.api.freshness import Backlog, freshness
from services.api.projections import SessionFigures, countries_of, figures_of
from services.api.schemas import BaselineFigures
from shared.figures import Tally, total
from shared.fold_state import Revisions, newest
from shared.session import SessionStatus
from shared.stored import STORED
from shared.tables import BASELINES, REJECTED_SCANS, SESSIONS, ExpoSession


@dataclass(frozen=True, slots=True)
class Part:
    """One row of an expo's history: a baseline or a session."""

    kind: str
    label: str
    first_ordinal: int
    last_ordinal: int
    tally: Tally
    session: ExpoSession | None = None
    as_of: datetime | None = None
    position: str | None = None
    revisions: Revisions | None = None  # a session's; a baseline has none

    @property
    def id(self) -> str:
        """A session's id ("" for a baseline)."""
        return self.session.id if self.session else ""


@lru_cache(maxsize=1024)
def baseline_tally(figures_json: str, countries_json: str | None) -> Tally:
    """A baseline's tally, made once per baseline (a baseline is never edited)."""
    figures = BaselineFigures.model_validate_json(figures_json, context=STORED)
    countries = json.loads(countries_json) if countries_json else None
    return Tally.of_figures(dict(figures), countries)


def expo_parts(conn: Connection, expo_id: str) -> list[Part]:
    """The baselines and sessions of an expo with their figures, in ordinal order."""
    parts = [
        Part(
            "baseline",
            row.label,
            row.first_ordinal,
            row.last_ordinal,
            baseline_tally(row.figures, row.countries_list),
        )
        for row in conn.execute(select(BASELINES).where(BASELINES.c.expo_id == expo_id))
    ]
    sessions = [
        ExpoSession.model_validate(row._mapping)
        for row in conn.execute(select(SESSIONS).where(SESSIONS.c.expo_id == expo_id))
    ]
    ids = [s.id for s in sessions]
    figures, countries = figures_of(conn, ids), countries_of(conn, ids)
    for session in sessions:
        found = figures.get(session.id) or SessionFigures()
        totals = found.totals
        tally = Tally.of_session(
            totals, countries.get(session.id, set()), is_open=session.status == SessionStatus.OPEN
        )
        parts.append(
            Part(
                "session",
                session.name,
                session.ordinal,
                session.ordinal,
                tally,
                session,
                totals.as_of,
                found.position,
                totals.revisions,
            )
        )
    return sorted(parts, key=lambda p: p.first_ordinal)


def added_revisions(parts: Iterable[Revisions]) -> Revisions:
    """The revisions of several sessions together: events added up, the latest time."""
    result = Revisions()
    for part in parts:
        result = Revisions(
            result.late_events + part.late_events,
            newest(result.last_revised_at, part.last_revised_at),
            result.after_close + part.after_close,
        )
    return result


def rejected_scans(conn: Connection, session_id: str) -> dict[str, int]:
    counts = conn.execute(
        select(REJECTED_SCANS.c.reason, func.count())
        .where(REJECTED_SCANS.c.session_id == session_id)
        .group_by(REJECTED_SCANS.c.reason)
    )
    return {reason: int(n) for reason, n in counts}


def session_ids(conn: Connection, expo_id: str) -> list[str]:
    return list(conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.expo_id == expo_id)).scalars())


def session_totals(
    conn: Connection, session: ExpoSession, backlog: Backlog | None
) -> schemas.Totals:
    """This edition's figures, those of every edition before it, and both together;
    `backlog` is the session's, read before the figures (None: Redis was away)."""
    return totals_among(conn, expo_parts(conn, session.expo_id), session, backlog)


def totals_among(
    conn: Connection, parts: list[Part], session: ExpoSession, backlog: Backlog | None
) -> schemas.Totals:
    """`session_totals`, with the expo's parts read already."""
    current = next(p for p in parts if p.session is not None and p.session.id == session.id)
    previous = total(p.tally for p in parts if p.last_ordinal < session.ordinal)
    return schemas.Totals(
        **freshness(current.as_of, backlog).model_dump(),
        session_id=session.id,
        expo_id=session.expo_id,
        ordinal=session.ordinal,
        status=session.status,
        position=current.position,
        revisions=schemas.RevisionsPublic.of(current.revisions or Revisions()),
        current=current.tally.figures(),
        previous=previous.figures(),
        cumulative=(previous + current.tally).figures(),
        rejected_scans=rejected_scans(conn, session.id),
    )
