"""What the API reads of the projections the aggregator writes: a session's figures row (its
totals and the newest stream entry folded), the countries it counts, the expo's version for
screens, and the attendee and deal records behind the figures over time.

Every read the API makes of `session_figures`, `breakdown_row`, `attendee_record`,
`deal_record`, `exhibitor_record` and `country_ref` is here. A session no fold has reached
yet has no figures row: it reads as empty (zero totals, no `as_of`, no position).
"""

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, select

from shared.fold_state import Counts, Totals
from shared.tables import (
    ATTENDEES,
    BASELINES,
    BREAKDOWN_ROWS,
    COUNTRIES,
    DEALS,
    EVENTS,
    EXHIBITORS,
    EXPOS,
    SESSION_FIGURES,
    SESSIONS,
    totals_of,
)
from shared.vocabulary import KEYED_COUNTERS

Slot = int | datetime  # a slot of time as the database gives it (see `changes.py`)
SlotOf = Callable[[Any], ColumnElement[Any]]  # the slot of a time column, in SQL


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """A session's figures row: the fold's totals and the newest stream entry folded."""

    totals: Totals = field(default_factory=Totals)
    position: str | None = None


@dataclass(frozen=True, slots=True)
class SignedDeal:
    """The signing of a deal that counts: when it occurred, and in which slot."""

    deal_id: str
    amount_fen: int
    slot: Slot
    signed_at: datetime


def figures_of(conn: Connection, session_ids: Collection[str]) -> dict[str, SessionFigures]:
    """The figures of these sessions, by session id (one without a row is left out)."""
    rows = conn.execute(
        select(SESSION_FIGURES).where(SESSION_FIGURES.c.session_id.in_(session_ids))
    )
    return {r.session_id: SessionFigures(totals_of(r), r.position) for r in rows}


def countries_of(conn: Connection, session_ids: Collection[str]) -> dict[str, set[str]]:
    """The countries each of these sessions counts, by session id (one counting none is
    left out)."""
    countries: dict[str, set[str]] = {}
    for ref in conn.execute(
        select(COUNTRIES.c.session_id, COUNTRIES.c.country).where(
            COUNTRIES.c.session_id.in_(session_ids), COUNTRIES.c.refs > 0
        )
    ):
        countries.setdefault(ref.session_id, set()).add(ref.country)
    return countries


def breakdown_of(conn: Connection, session_ids: Collection[str], by: str) -> dict[str, Counts]:
    """The rows of the breakdown `by` in these sessions, added up, by key (a row of zeros,
    a key no longer counting anything, is left out)."""
    table = BREAKDOWN_ROWS
    rows = conn.execute(select(table).where(table.c.session_id.in_(session_ids), table.c.by == by))
    found: dict[str, Counts] = {}
    for row in rows:
        counts = found.setdefault(row.key, dict.fromkeys(KEYED_COUNTERS, 0))
        for counter in KEYED_COUNTERS:
            counts[counter] += getattr(row, counter)
    return {key: counts for key, counts in found.items() if any(counts.values())}


def exhibitor_names(
    conn: Connection, session_ids: Collection[str], exhibitor_ids: Collection[str] | None = None
) -> dict[str, str]:
    """The names exhibitors registered under (their counted registration's), by id: those
    of `exhibitor_ids`, or every exhibitor of the sessions."""
    if exhibitor_ids is not None and not exhibitor_ids:
        return {}
    x = EXHIBITORS
    query = (
        select(x.c.exhibitor_id, EVENTS.c.payload)
        .join(
            EVENTS,
            and_(EVENTS.c.session_id == x.c.session_id, EVENTS.c.event_id == x.c.first_event_id),
        )
        .where(x.c.session_id.in_(session_ids))
    )
    if exhibitor_ids is not None:
        query = query.where(x.c.exhibitor_id.in_(exhibitor_ids))
    return {row.exhibitor_id: json.loads(row.payload)["name"] for row in conn.execute(query)}


def as_of(conn: Connection, session_id: str) -> datetime | None:
    """The newest `recorded_at` folded into the session; None before its first fold."""
    return conn.execute(
        select(SESSION_FIGURES.c.as_of).where(SESSION_FIGURES.c.session_id == session_id)
    ).scalar_one_or_none()


# Everything a display body is made of, except what never changes without it: a session's
# countries and inside count change only in a fold, which moves its figures row; a baseline
# is never edited.
VERSION = (
    select(
        EXPOS.c.name,
        select(func.count()).where(BASELINES.c.expo_id == EXPOS.c.id).scalar_subquery(),
        select(func.max(BASELINES.c.id)).where(BASELINES.c.expo_id == EXPOS.c.id).scalar_subquery(),
        SESSIONS.c.id,
        SESSIONS.c.name,
        SESSIONS.c.ordinal,
        SESSIONS.c.status,
        *SESSION_FIGURES.c,
    )
    .select_from(
        EXPOS.outerjoin(SESSIONS, SESSIONS.c.expo_id == EXPOS.c.id).outerjoin(
            SESSION_FIGURES, SESSION_FIGURES.c.session_id == SESSIONS.c.id
        )
    )
    .where(EXPOS.c.id == bindparam("expo_id"))
    .order_by(SESSIONS.c.id)
)


def expo_version(conn: Connection, expo_id: str) -> tuple[tuple[Any, ...], ...]:
    """The expo's version, in one small indexed query: a row of `VERSION` per session (a
    single row without one when it has none), the expo's name first; empty when there is
    no such expo."""
    return tuple(tuple(row) for row in conn.execute(VERSION, {"expo_id": expo_id}))


def sessions_of(version: tuple[tuple[Any, ...], ...]) -> tuple[str, ...]:
    """The ids of the expo's sessions, out of its version."""
    return tuple(row[3] for row in version if row[3] is not None)


def first_entries(
    conn: Connection, session_id: str, until: datetime | None, slot_of: SlotOf
) -> dict[Slot, int]:
    """Attendees per slot of their earliest entry (at or before `until`)."""
    when = ATTENDEES.c.first_occurred_at
    slot = slot_of(when)
    query = select(slot.label("slot"), func.count()).where(
        ATTENDEES.c.session_id == session_id, when.is_not(None)
    )
    if until is not None:
        query = query.where(when <= until)
    return {row.slot: int(row[1]) for row in conn.execute(query.group_by(slot))}


def signings(
    conn: Connection, session_id: str, until: datetime | None, slot_of: SlotOf
) -> list[SignedDeal]:
    """The deals signed (at or before `until`), each by the signing that counts."""
    when = DEALS.c.signed_occurred_at
    query = select(DEALS.c.deal_id, DEALS.c.amount_fen, slot_of(when).label("slot"), when)
    query = query.where(DEALS.c.session_id == session_id, when.is_not(None))
    if until is not None:
        query = query.where(when <= until)
    return [SignedDeal(*row) for row in conn.execute(query)]
