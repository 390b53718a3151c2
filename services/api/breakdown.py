"""Breakdowns: a session's or an expo's counted deals by sector, counterparty country, kind or
exhibitor, and its people by country or desk (docs/design.md §5; the breakdowns are declared
in `shared.vocabulary`).

They are read from the rows the fold keeps (`breakdown_row`, one per key), so a read costs
the same at 10,000 events as at a million. The rows of an answer always add up to its
`total`: a key the events left out is the `not_given` row, the keys past `limit` are added
into the `other` row, and an expo's baselines, which give totals without a breakdown, are
the `unclassified` row.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from services.api import freshness
from services.api.admin import get_expo, get_session
from services.api.deps import ReaderDep, SourcesDep
from services.api.freshness import Backlog, Freshness
from services.api.projections import breakdown_of, exhibitor_names, figures_of
from services.api.schemas import RevisionsPublic
from services.api.standing import added_revisions, expo_parts, session_ids
from shared.figures import DecimalString, Tally
from shared.fold_state import Counts, Revisions, Totals
from shared.money import CENT, fen_of, yuan_of
from shared.openapi import READ, problems
from shared.tables import SESSIONS
from shared.vocabulary import (
    BREAKDOWN_BY,
    BREAKDOWNS,
    KEYED_COUNTERS,
    NOT_GIVEN,
    Subject,
    fen_counter,
)
from shared.vocabulary import Breakdown as BreakdownDeclared

router = APIRouter(tags=["figures"])
RANKED = {Subject.DEALS: ("deal_value_fen", "deals"), Subject.PEOPLE: ("attendees", "checkins")}

if TYPE_CHECKING:
    By = str
else:  # the breakdowns the vocabulary declares
    By = StrEnum("By", [(b.by, b.by) for b in BREAKDOWNS])


class Part(StrEnum):
    KEY = "key"  # the rows of one key each
    NOT_GIVEN = "not_given"  # what the events left out (a deal naming no sector)
    OTHER = "other"  # the keys past `limit`, added up
    UNCLASSIFIED = "unclassified"  # baselines: editions known only by their totals
    TOTAL = "total"


class Row(BaseModel):
    key: str | None = Field(
        description="The sector, country, kind, exhibitor or desk; null "
        "in a row that is not one key's (see `part`)."
    )
    label: str | None = Field(default=None, description="An exhibitor's registered name.")
    part: Part


class DealsRow(Row):
    deals: int = Field(description="Deals signed and not voided.")
    deal_value_cny: DecimalString = Field(json_schema_extra={"type": "string"})


class PeopleRow(Row):
    attendees: int = Field(description="Distinct people, under their earliest entry's key.")
    checkins: int = Field(description="Entry scans, each under its own key.")


class Breakdown(Freshness):
    expo_id: str
    session_id: str | None = Field(description="Null for an expo's (its sessions added up).")
    by: str
    subject: Subject
    rows: list[DealsRow] | list[PeopleRow] = Field(
        description="Deals by value, people by attendees, largest first; then `not_given`, "
        "`other` and `unclassified` where there is one. They add up to `total`."
    )
    total: DealsRow | PeopleRow
    revisions: RevisionsPublic


Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=1000,
        description="Rows of single keys at most; the rest are added into one `other` row.",
    ),
]


@router.get("/v1/sessions/{session_id}/breakdown", responses=problems(*READ))
def session_breakdown(
    session_id: str, by: By, _: ReaderDep, sources: SourcesDep, limit: Limit = None
) -> Breakdown:
    """A session's counted deals or people per key of one breakdown."""
    get_session(sources.db, session_id)
    backlog = freshness.backlog(sources.redis, session_id)  # read before the figures
    sources.db.rollback()
    return of_session(sources.db.connection(), session_id, by, limit, backlog)


@router.get("/v1/expos/{expo_id}/breakdown", responses=problems(*READ))
def expo_breakdown(
    expo_id: str, by: By, _: ReaderDep, sources: SourcesDep, limit: Limit = None
) -> Breakdown:
    """An expo's sessions added up per key of one breakdown; its baselines, which give no
    breakdown, are the `unclassified` row."""
    get_expo(sources.db, expo_id)
    backlogs = freshness.backlogs(sources.redis, session_ids(sources.db.connection(), expo_id))
    sources.db.rollback()  # the figures come from a snapshot taken after the backlogs
    return of_expo(sources.db.connection(), expo_id, by, limit, backlogs)


def of_session(
    conn: Connection, session_id: str, by: str, limit: int | None, backlog: Backlog | None
) -> Breakdown:
    """A session's breakdown; `backlog` is its, read before (None: Redis was away)."""
    expo_id = conn.execute(
        select(SESSIONS.c.expo_id).where(SESSIONS.c.id == session_id)
    ).scalar_one()
    found = figures_of(conn, [session_id]).get(session_id)
    totals = found.totals if found else Totals()
    fresh = freshness.freshness(totals.as_of, backlog)
    scope = Scope(expo_id, session_id, [session_id], fresh, totals.revisions)
    return _answer(conn, BREAKDOWN_BY[by], scope, limit)


def of_expo(
    conn: Connection,
    expo_id: str,
    by: str,
    limit: int | None,
    backlogs: Mapping[str, Backlog | None],
) -> Breakdown:
    """An expo's breakdown; `backlogs` are its sessions', read before."""
    parts = expo_parts(conn, expo_id)
    sessions = [p for p in parts if p.session is not None]
    fresh = freshness.combined(freshness.freshness(p.as_of, backlogs.get(p.id)) for p in sessions)
    scope = Scope(
        expo_id,
        None,
        [p.id for p in sessions],
        fresh,
        added_revisions(p.revisions for p in sessions if p.revisions),
        _added(_counts_of(p.tally) for p in parts if p.session is None),
    )
    return _answer(conn, BREAKDOWN_BY[by], scope, limit)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a breakdown adds up: a session, or an expo's sessions and baselines."""

    expo_id: str
    session_id: str | None
    session_ids: list[str]
    fresh: Freshness
    revisions: Revisions
    remainder: Counts | None = None  # the baselines' totals, as breakdown counters


def _answer(
    conn: Connection, breakdown: BreakdownDeclared, scope: Scope, limit: int | None
) -> Breakdown:
    rows, total = ranked(conn, breakdown, scope.session_ids, limit, scope.remainder)
    return Breakdown(
        **scope.fresh.model_dump(),
        expo_id=scope.expo_id,
        session_id=scope.session_id,
        by=breakdown.by,
        subject=breakdown.subject,
        rows=rows,
        total=total,
        revisions=RevisionsPublic.of(scope.revisions),
    )


def ranked(
    conn: Connection,
    breakdown: BreakdownDeclared,
    session_ids: list[str],
    limit: int | None,
    remainder: Counts | None = None,
) -> tuple[list[Any], DealsRow | PeopleRow]:
    """The rows of a breakdown over these sessions, largest first, then those that are not
    one key's; and their total. `remainder` is what baselines add (`unclassified`)."""
    found = breakdown_of(conn, session_ids, breakdown.by)
    keyed = sorted(((k, c) for k, c in found.items() if k != NOT_GIVEN), key=_rank(breakdown))
    shown, tail = (keyed[:limit], keyed[limit:]) if limit is not None else (keyed, [])
    labels = {}
    if breakdown.by == "exhibitor":
        labels = exhibitor_names(conn, session_ids, [k for k, _ in shown])
    row = DealsRow if breakdown.subject is Subject.DEALS else PeopleRow
    rows: list[Any] = [
        row(key=k, label=labels.get(k), part=Part.KEY, **_measures(breakdown, c)) for k, c in shown
    ]
    extra = {
        Part.NOT_GIVEN: found.get(NOT_GIVEN),
        Part.OTHER: _added(c for _, c in tail) if tail else None,
        Part.UNCLASSIFIED: remainder,
    }
    rows += [
        row(key=None, part=part, **_measures(breakdown, c))
        for part, c in extra.items()
        if c and any(c.values())
    ]
    everything = _added([*found.values(), remainder or {}])
    return rows, row(key=None, part=Part.TOTAL, **_measures(breakdown, everything))


def _rank(breakdown: BreakdownDeclared) -> Callable[[tuple[str, Counts]], tuple[int, int, str]]:
    """Largest first: deals by value, then count; people by attendees, then check-ins;
    then by key."""
    first, second = RANKED[breakdown.subject]

    def rank(item: tuple[str, Counts]) -> tuple[int, int, str]:
        key, counts = item
        return (-counts[first], -counts[second], key)

    return rank


def _measures(breakdown: BreakdownDeclared, counts: Counts) -> dict[str, Any]:
    """A row's measures, by name, from its counters."""
    return {
        measure: yuan_of(counts[counter]).quantize(CENT) if counter != measure else counts[counter]
        for measure, counter in zip(breakdown.measures, breakdown.counters, strict=True)
    }


def _counts_of(tally: Tally) -> Counts:
    """A baseline's totals as the counters of breakdown rows."""
    values = tally.values()
    return {
        counter: fen_of(values[m]) if counter == fen_counter(m) else values[m]
        for b in BREAKDOWNS
        for m, counter in zip(b.measures, b.counters, strict=True)
    }


def _added(parts: Iterable[Mapping[str, int]]) -> Counts:
    total = dict.fromkeys(KEYED_COUNTERS, 0)
    for counts in parts:
        for counter, n in counts.items():
            total[counter] += n
    return total
