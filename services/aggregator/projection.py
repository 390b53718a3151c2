"""The fold, applied to SQL: store new events, then write what they change.

`store_new` and `project` run inside ONE transaction opened by the caller. The session's
figures row is locked first, so two folds of one session never interleave; the records a
batch touches are loaded, `shared.fold.apply` runs over them, and the batch's `Change` is
written as it is: counters moved by their deltas, the changed records upserted.
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, Table, delete, select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from services.aggregator.event_store import Folded, FoldingAt
from services.aggregator.records import (
    attendee_of,
    attendee_row,
    breakdown_row,
    country_row,
    deal_of,
    deal_row,
    exhibitor_of,
    exhibitor_row,
)
from shared.bulk import add_rows, among, upsert_rows
from shared.fold import DEAL_VALUE, LATE_AFTER, Keys, apply
from shared.fold import keys_of as fold_keys
from shared.fold_state import Change, Conflict, Counts, Folding, Row, State, Totals
from shared.stream import position_key
from shared.tables import (
    ATTENDEES,
    BREAKDOWN_ROWS,
    COUNTRIES,
    DEALS,
    EVENTS,
    EXHIBITORS,
    PROJECTION_TABLES,
    SESSION_FIGURES,
    SESSIONS,
    totals_of,
)
from shared.vocabulary import COUNTERS, KEYED_COUNTERS

# The projection tables by name: what a rebuild compares, in order.
PROJECTIONS = {table.name: table for table in PROJECTION_TABLES}


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
    batch = Change()
    for event, folding in events:
        apply(state, event, folding, into=batch)
    state.absorb(batch)
    position = _newest(figures.position, positions)
    _save(
        conn,
        session_id,
        state.totals,
        batch,
        {"events": SESSION_FIGURES.c.events + len(events), "position": position},
    )
    return batch.conflicts


def all_session_ids(conn: Connection) -> list[str]:
    """Every session the event store or the projections hold, sorted."""
    known = union(select(EVENTS.c.session_id), select(SESSION_FIGURES.c.session_id))
    return sorted(conn.execute(known).scalars())


def rows_of(
    conn: Connection, table: str, session_id: str, columns: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The session's rows of the projection table named `table`, each as its `columns`
    (all of them when none are given) by name."""
    found = PROJECTIONS[table]
    names = columns or [c.name for c in found.columns]
    query = select(*(found.c[c] for c in names)).where(found.c.session_id == session_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def reset(conn: Connection, session_ids: Iterable[str]) -> None:
    """Empty the projections of these sessions (before a rebuild from the event store)."""
    ids = list(session_ids)
    for table in PROJECTION_TABLES:
        if table is not SESSION_FIGURES:
            conn.execute(delete(table).where(table.c.session_id.in_(ids)))
    zeros = dict.fromkeys(COUNTERS, 0)
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
        state.exhibitors[row.exhibitor_id] = exhibitor_of(row)
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


def _save(
    conn: Connection, session_id: str, totals: Totals, batch: Change, figures: dict[str, Any]
) -> None:
    """Write the batch's change; `totals` are the session's after it, `figures` more
    `session_figures` columns to set."""
    column = SESSION_FIGURES.c
    # Counts are added in SQL; a sum of money is written whole (the row is locked), since
    # SQLite cannot add numbers past 2**63.
    values: dict[str, Any] = {
        counter: column[counter] + n
        for counter, n in batch.counts.items()
        if n and counter != DEAL_VALUE
    }
    if batch.counts.get(DEAL_VALUE):
        values[DEAL_VALUE] = totals.counts[DEAL_VALUE]
    conn.execute(
        update(SESSION_FIGURES)
        .where(column.session_id == session_id)
        .values(
            **values,
            **figures,
            as_of=totals.as_of,
            last_revised_at=totals.last_revised_at,
        )
    )
    upsert_rows(
        conn, ATTENDEES, [attendee_row(session_id, k, a) for k, a in batch.attendees.items()]
    )
    upsert_rows(conn, DEALS, [deal_row(session_id, k, d) for k, d in batch.deals.items()])
    exhibitors = batch.exhibitors.items()
    upsert_rows(conn, EXHIBITORS, [exhibitor_row(session_id, k, x) for k, x in exhibitors])
    refs = batch.country_refs.items()
    upsert_rows(conn, COUNTRIES, [country_row(session_id, k, n) for k, n in refs])
    _move_rows(conn, session_id, batch.rows)


def _move_rows(conn: Connection, session_id: str, deltas: dict[Row, Counts]) -> None:
    """Move the breakdown rows by the batch's deltas: added in SQL on PostgreSQL (NUMERIC
    adds exactly), read and written whole on SQLite, whose integers stop at 2**63 fen (the
    session is locked, so nothing moves them in between)."""
    if not deltas:
        return
    if conn.dialect.name == "postgresql":
        moved = [
            breakdown_row(session_id, *row, {c: n.get(c, 0) for c in KEYED_COUNTERS})
            for row, n in deltas.items()
        ]
        add_rows(conn, BREAKDOWN_ROWS, moved)
        return
    rows = [breakdown_row(session_id, *r, c) for r, c in _moved_rows(conn, session_id, deltas)]
    upsert_rows(conn, BREAKDOWN_ROWS, rows)


def _moved_rows(
    conn: Connection, session_id: str, deltas: dict[Row, Counts]
) -> list[tuple[Row, Counts]]:
    """The breakdown rows the batch moved, each as it now is."""
    table = BREAKDOWN_ROWS
    found = conn.execute(
        select(table).where(
            table.c.session_id == session_id,
            among(conn, table.c.by, {by for by, _ in deltas}),
            among(conn, table.c.key, {key for _, key in deltas}),
        )
    )
    current = {(row.by, row.key): row for row in found}
    moved = []
    for key, delta in deltas.items():
        row = current.get(key)
        counts = {c: (getattr(row, c) if row else 0) + delta.get(c, 0) for c in KEYED_COUNTERS}
        moved.append((key, counts))
    return moved


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
