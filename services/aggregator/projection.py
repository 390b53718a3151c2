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

from shared.bulk import among, insert_rows, upsert_rows
from shared.events import Category, DealKind, Event, encode_event
from shared.fold import (
    LATE_AFTER,
    Attendee,
    Conflict,
    Deal,
    Exhibitor,
    Folding,
    Keys,
    Signing,
    State,
    Totals,
    apply,
)
from shared.fold import keys_of as fold_keys
from shared.stream import position_key
from shared.tables import (
    PROJECTION_TABLES,
    AttendeeRecord,
    CountryRef,
    DealRecord,
    ExhibitorRecord,
    ExpoSession,
    SessionFigures,
    StoredEvent,
    fen_of,
    totals_of,
    utcnow,
    yuan_of,
)

V = TypeVar("V")
FIGURES = SessionFigures.__table__  # type: ignore[attr-defined]
EVENTS = StoredEvent.__table__  # type: ignore[attr-defined]
ATTENDEES = AttendeeRecord.__table__  # type: ignore[attr-defined]
DEALS = DealRecord.__table__  # type: ignore[attr-defined]
EXHIBITORS = ExhibitorRecord.__table__  # type: ignore[attr-defined]
COUNTRIES = CountryRef.__table__  # type: ignore[attr-defined]
SESSIONS = ExpoSession.__table__  # type: ignore[attr-defined]
COUNTER_COLUMNS = (
    "checkins",
    *(c.value for c in Category),
    *(k.value for k in DealKind),
    "deal_value_fen",
    "exhibitors",
    "projects_on_display",
    "countries",
    "inside_now",
    "late_events",
    "after_close",
)
# A new event and how it was folded (when it was stored, and what made that late).
Folded = tuple[Event, Folding]
FoldingAt = partial[Folding]


@dataclass(frozen=True, slots=True)
class Entry:
    """An event as it came off a stream, with the entry id it came from."""

    position: str
    event: Event


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def lock_session(conn: Connection, session_id: str) -> Any:
    """Hold the session's figures row locked until commit, creating it if needed; returns
    the row as it is now."""
    locked = select(FIGURES).where(FIGURES.c.session_id == session_id).with_for_update()
    row = conn.execute(locked).one_or_none()
    if row is None:
        conn.execute(_insert(conn, FIGURES).values(session_id=session_id).on_conflict_do_nothing())
        row = conn.execute(locked).one()
    return row


def folding_of(conn: Connection, session_id: str, late_after: timedelta = LATE_AFTER) -> FoldingAt:
    """How an event of the session folded at a given moment counts in its revisions."""
    closed_at = conn.execute(
        select(SESSIONS.c.closed_at).where(SESSIONS.c.id == session_id)
    ).scalar_one_or_none()
    return partial(Folding, late_after=late_after, closed_at=closed_at)


def store_new(
    conn: Connection, session_id: str, entries: Sequence[Entry], folding: FoldingAt
) -> list[Folded]:
    """Insert into the event store the events of the session it does not hold yet; returns
    those, folded now.

    Which ones are new is read first and then they are inserted plainly: the session lock
    keeps another fold of this session from storing them in between. An event is its
    event_id within its session: the same id in another session is another event."""
    unique = {str(e.event.event_id): e for e in entries}
    if not unique:
        return []
    known = set(
        conn.execute(
            select(EVENTS.c.event_id).where(
                EVENTS.c.session_id == session_id, among(conn, EVENTS.c.event_id, unique)
            )
        ).scalars()
    )
    new = {event_id: e for event_id, e in unique.items() if event_id not in known}
    stored_at = utcnow()
    rows = [
        {
            "event_id": event_id,
            "session_id": e.event.session_id,
            "type": e.event.type,
            "occurred_at": e.event.occurred_at,
            "recorded_at": e.event.recorded_at,
            "schema_version": e.event.schema_version,
            "source": e.event.source,
            "position": e.position,
            "payload": encode_event(e.event).decode(),
            "stored_at": stored_at,
        }
        for event_id, e in new.items()
    ]
    insert_rows(conn, EVENTS, rows)
    now = folding(stored_at)
    return [(e.event, now) for e in new.values()]


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
        figures = conn.execute(select(FIGURES).where(FIGURES.c.session_id == session_id)).one()
    state = _load(conn, session_id, fold_keys(e for e, _ in events), totals_of(figures))
    before = _snapshot(state)
    conflicts = [c for e, f in events if (c := apply(state, e, f)) is not None]
    position = _newest(figures.position, positions)
    _save(
        conn,
        session_id,
        state,
        before,
        {"events": FIGURES.c.events + len(events), "position": position},
    )
    return conflicts


def reset(conn: Connection, session_ids: Iterable[str]) -> None:
    """Empty the projections of these sessions (before a rebuild from the event store)."""
    ids = list(session_ids)
    for table in PROJECTION_TABLES:
        if table is not FIGURES:
            conn.execute(delete(table).where(table.c.session_id.in_(ids)))
    zeros = dict.fromkeys(COUNTER_COLUMNS, 0)
    conn.execute(
        update(FIGURES)
        .where(FIGURES.c.session_id.in_(ids))
        .values(**zeros, events=0, as_of=None, last_revised_at=None)
    )


# --- loading and saving the partial state --------------------------------------------------


def _load(conn: Connection, session_id: str, keys: Keys, totals: Totals) -> State:
    """The records `keys` names (no query for a kind the batch does not touch)."""
    state = State(totals=totals)
    for row in _rows(conn, ATTENDEES, session_id, ATTENDEES.c.attendee_id, keys.attendees):
        state.attendees[row.attendee_id] = _attendee(row)
    for row in _rows(conn, DEALS, session_id, DEALS.c.deal_id, keys.deals):
        state.deals[row.deal_id] = _deal(row)
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


def _attendee(row: Any) -> Attendee:
    first = None
    if row.first_event_id is not None:
        first = (row.first_occurred_at, UUID(row.first_event_id))
    category = Category(row.category) if row.category is not None else None
    latest = (row.latest_occurred_at, UUID(row.latest_event_id))
    return Attendee(first, category, latest, row.inside)


def attendee_row(session_id: str, attendee_id: str, attendee: Attendee) -> dict[str, Any]:
    first = attendee.first
    return {
        "session_id": session_id,
        "attendee_id": attendee_id,
        "first_occurred_at": first[0] if first else None,
        "first_event_id": str(first[1]) if first else None,
        "category": attendee.category.value if attendee.category else None,
        "latest_occurred_at": attendee.latest[0],
        "latest_event_id": str(attendee.latest[1]),
        "inside": attendee.inside,
    }


def _deal(row: Any) -> Deal:
    signing = None
    if row.signed_event_id is not None:
        signing = Signing(
            first=(row.signed_occurred_at, UUID(row.signed_event_id)),
            kind=DealKind(row.kind),
            amount_cny=yuan_of(row.amount_fen),
            counterparty_country=row.counterparty_country,
            content=row.content,
        )
    return Deal(signing=signing, voided=row.voided)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    counters: dict[str, int]
    attendees: dict[str, Attendee]
    deals: dict[str, Deal]
    exhibitors: dict[str, Exhibitor]
    country_refs: dict[str, int]


def counters(totals: Totals) -> dict[str, int]:
    """The `session_figures` counter columns of some totals."""
    return {
        "checkins": totals.checkins,
        **{c.value: n for c, n in totals.by_category.items()},
        **{k.value: n for k, n in totals.by_kind.items()},
        "deal_value_fen": fen_of(totals.deal_value_cny),
        "exhibitors": totals.exhibitors,
        "projects_on_display": totals.projects_on_display,
        "countries": totals.countries,
        "inside_now": totals.inside_now,
        "late_events": totals.revisions.late_events,
        "after_close": totals.revisions.after_close,
    }


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
        col: FIGURES.c[col] + (after[col] - before.counters[col])
        for col in COUNTER_COLUMNS
        if col != "deal_value_fen"
    }
    deltas["deal_value_fen"] = after["deal_value_fen"]
    totals = state.totals
    conn.execute(
        update(FIGURES)
        .where(FIGURES.c.session_id == session_id)
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


def exhibitor_row(session_id: str, exhibitor_id: str, exhibitor: Exhibitor) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "exhibitor_id": exhibitor_id,
        "first_occurred_at": exhibitor.first[0],
        "first_event_id": str(exhibitor.first[1]),
        "projects_on_display": exhibitor.projects_on_display,
        "country": exhibitor.country,
    }


def country_row(session_id: str, country: str, refs: int) -> dict[str, Any]:
    return {"session_id": session_id, "country": country, "refs": refs}


def deal_row(session_id: str, deal_id: str, deal: Deal) -> dict[str, Any]:
    signing = deal.signing
    return {
        "session_id": session_id,
        "deal_id": deal_id,
        "signed_occurred_at": signing.first[0] if signing else None,
        "signed_event_id": str(signing.first[1]) if signing else None,
        "kind": signing.kind.value if signing else None,
        "amount_fen": fen_of(signing.amount_cny) if signing else None,
        "counterparty_country": signing.counterparty_country if signing else None,
        "content": signing.content if signing else None,
        "voided": deal.voided,
    }


def event_rows_at(conn: Connection, session_id: str, after: str, limit: int) -> list[Any]:
    """Stored events of a session in event_id order, for rebuilds."""
    return list(
        conn.execute(
            select(EVENTS.c.event_id, EVENTS.c.payload, EVENTS.c.stored_at)
            .where(EVENTS.c.session_id == session_id, EVENTS.c.event_id > after)
            .order_by(EVENTS.c.event_id)
            .limit(limit)
        )
    )


def advance_position(conn: Connection, session_id: str, positions: Iterable[str]) -> None:
    """Record the newest stream entry folded for the session (the session must be locked)."""
    positions = list(positions)
    if not positions:
        return
    current = conn.execute(
        select(FIGURES.c.position).where(FIGURES.c.session_id == session_id)
    ).scalar_one()
    newest = _newest(current, positions)
    if newest != current:
        conn.execute(
            update(FIGURES).where(FIGURES.c.session_id == session_id).values(position=newest)
        )


def _newest(current: str | None, positions: Iterable[str]) -> str | None:
    """The newer of the recorded position and the newest of `positions`."""
    return max((p for p in (current, *positions) if p is not None), key=position_key, default=None)
