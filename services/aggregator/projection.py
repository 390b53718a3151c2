"""The fold, applied to SQL: store new events, then add their deltas to the projections.

`store_new` and `project` run inside ONE transaction opened by the caller. The session's
figures row is locked first, so two folds of one session never interleave; the records a
batch touches are loaded, `shared.fold.apply` runs over them, and what changed is written.
"""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.aggregator.event_store import Folded, FoldingAt
from services.aggregator.records import (
    COUNTER_COLUMNS,
    attendee_of,
    attendee_row,
    counters,
    country_row,
    deal_of,
    deal_row,
    exhibitor_row,
)
from shared.bulk import among, upsert_rows
from shared.fold import (
    LATE_AFTER,
    Attendee,
    Conflict,
    Deal,
    Exhibitor,
    Folding,
    Keys,
    State,
    Totals,
    apply,
)
from shared.fold import keys_of as fold_keys
from shared.stream import position_key
from shared.tables import (
    ATTENDEES,
    COUNTRIES,
    DEALS,
    EXHIBITORS,
    PROJECTION_TABLES,
    SESSION_FIGURES,
    SESSIONS,
    totals_of,
)

V = TypeVar("V")


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def lock_session(conn: Connection, session_id: str) -> Any:
    """Hold the session's figures row locked until commit, creating it if needed; returns
    the row as it is now."""
    locked = (
        select(SESSION_FIGURES).where(SESSION_FIGURES.c.session_id == session_id).with_for_update()
    )
    row = conn.execute(locked).one_or_none()
    if row is None:
        conn.execute(
            _insert(conn, SESSION_FIGURES).values(session_id=session_id).on_conflict_do_nothing()
        )
        row = conn.execute(locked).one()
    return row


def folding_of(conn: Connection, session_id: str, late_after: timedelta = LATE_AFTER) -> FoldingAt:
    """How an event of the session folded at a given moment counts in its revisions."""
    closed_at = conn.execute(
        select(SESSIONS.c.closed_at).where(SESSIONS.c.id == session_id)
    ).scalar_one_or_none()
    return partial(Folding, late_after=late_after, closed_at=closed_at)


def project(
    conn: Connection,
    session_id: str,
    events: Sequence[Folded],
    positions: Iterable[str] = (),
    figures: Any = None,
) -> list[Conflict]:
    """Fold new events of one session into its projections (the session must be locked),
    and record the newest of the stream `positions` they came from as folded. `figures` is
    the session's figures row as `lock_session` returned it, if nothing changed it since."""
    if not events:
        advance_position(conn, session_id, positions)
        return []
    if figures is None:
        figures = conn.execute(
            select(SESSION_FIGURES).where(SESSION_FIGURES.c.session_id == session_id)
        ).one()
    state = _load(conn, session_id, fold_keys(e for e, _ in events), totals_of(figures))
    before = _snapshot(state)
    conflicts = [c for e, f in events if (c := apply(state, e, f)) is not None]
    position = _newest(figures.position, positions)
    _save(
        conn,
        session_id,
        state,
        before,
        {"events": SESSION_FIGURES.c.events + len(events), "position": position},
    )
    return conflicts


def reset(conn: Connection, session_ids: Iterable[str]) -> None:
    """Empty the projections of these sessions (before a rebuild from the event store)."""
    ids = list(session_ids)
    for table in PROJECTION_TABLES:
        if table is not SESSION_FIGURES:
            conn.execute(delete(table).where(table.c.session_id.in_(ids)))
    zeros = dict.fromkeys(COUNTER_COLUMNS, 0)
    conn.execute(
        update(SESSION_FIGURES)
        .where(SESSION_FIGURES.c.session_id.in_(ids))
        .values(**zeros, events=0, as_of=None, last_revised_at=None)
    )


# --- loading and saving the partial state --------------------------------------------------


def _load(conn: Connection, session_id: str, keys: Keys, totals: Totals) -> State:
    """The records `keys` names (no query for a kind the batch does not touch)."""
    state = State(totals=totals)
    for row in _rows(conn, ATTENDEES, session_id, ATTENDEES.c.attendee_id, keys.attendees):
        state.attendees[row.attendee_id] = attendee_of(row)
    for row in _rows(conn, DEALS, session_id, DEALS.c.deal_id, keys.deals):
        state.deals[row.deal_id] = deal_of(row)
    for row in _rows(conn, EXHIBITORS, session_id, EXHIBITORS.c.exhibitor_id, keys.exhibitors):
        first = (row.first_occurred_at, UUID(row.first_event_id))
        state.exhibitors[row.exhibitor_id] = Exhibitor(first, row.projects_on_display, row.country)
    countries = set(keys.countries) | {x.country for x in state.exhibitors.values()}
    countries |= {
        d.signing.counterparty_country
        for d in state.deals.values()
        if d.signing and d.signing.counterparty_country
    }
    for row in _rows(conn, COUNTRIES, session_id, COUNTRIES.c.country, countries):
        state.country_refs[row.country] = row.refs
    return state


def _rows(
    conn: Connection, table: Table, session_id: str, key: Any, wanted: Collection[str]
) -> Iterable[Any]:
    if not wanted:
        return ()
    return conn.execute(
        select(table).where(table.c.session_id == session_id, among(conn, key, wanted))
    )


@dataclass(frozen=True, slots=True)
class _Snapshot:
    counters: dict[str, int]
    attendees: dict[str, Attendee]
    deals: dict[str, Deal]
    exhibitors: dict[str, Exhibitor]
    country_refs: dict[str, int]


def _snapshot(state: State) -> _Snapshot:
    return _Snapshot(
        counters(state.totals),
        dict(state.attendees),
        dict(state.deals),
        dict(state.exhibitors),
        dict(state.country_refs),
    )


def _changed(after: dict[str, V], before: dict[str, V]) -> dict[str, V]:
    return {key: value for key, value in after.items() if before.get(key) != value}


def _save(
    conn: Connection, session_id: str, state: State, before: _Snapshot, figures: dict[str, Any]
) -> None:
    """Write what changed; `figures` are more `session_figures` columns to set."""
    after = counters(state.totals)
    # Counts are added in SQL; a sum of money is written whole (the row is locked), since
    # SQLite cannot add numbers past 2**63.
    deltas: dict[str, Any] = {
        col: SESSION_FIGURES.c[col] + (after[col] - before.counters[col])
        for col in COUNTER_COLUMNS
        if col != "deal_value_fen"
    }
    deltas["deal_value_fen"] = after["deal_value_fen"]
    totals = state.totals
    conn.execute(
        update(SESSION_FIGURES)
        .where(SESSION_FIGURES.c.session_id == session_id)
        .values(
            **deltas,
            **figures,
            as_of=totals.as_of,
            last_revised_at=totals.revisions.last_revised_at,
        )
    )
    attendees = _changed(state.attendees, before.attendees)
    upsert_rows(conn, ATTENDEES, [attendee_row(session_id, k, a) for k, a in attendees.items()])
    deals = _changed(state.deals, before.deals)
    upsert_rows(conn, DEALS, [deal_row(session_id, key, d) for key, d in deals.items()])
    exhibitors = _changed(state.exhibitors, before.exhibitors)
    upsert_rows(conn, EXHIBITORS, [exhibitor_row(session_id, k, x) for k, x in exhibitors.items()])
    refs = _changed(state.country_refs, before.country_refs)
    upsert_rows(conn, COUNTRIES, [country_row(session_id, k, n) for k, n in refs.items()])


def advance_position(conn: Connection, session_id: str, positions: Iterable[str]) -> None:
    """Record the newest stream entry folded for the session (the session must be locked)."""
    positions = list(positions)
    if not positions:
        return
    current = conn.execute(
        select(SESSION_FIGURES.c.position).where(SESSION_FIGURES.c.session_id == session_id)
    ).scalar_one()
    newest = _newest(current, positions)
    if newest != current:
        conn.execute(
            update(SESSION_FIGURES)
            .where(SESSION_FIGURES.c.session_id == session_id)
            .values(position=newest)
        )


def _newest(current: str | None, positions: Iterable[str]) -> str | None:
    """The newer of the recorded position and the newest of `positions`."""
    return max((p for p in (current, *positions) if p is not None), key=position_key, default=None)
