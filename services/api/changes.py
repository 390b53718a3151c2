"""How a session's figures moved over time, read from the event store and the projections:
per five-minute slot of UTC, what each figure gained (or, for a voided deal, lost), counted
by `occurred_at` — so a late upload lands where it happened, not where it arrived.

Definitions, matching the fold's (docs/design.md §4):
- `checkins`: entry scans, at the time of each scan;
- `attendees`: each attendee once, at their earliest entry;
- `deals`, `deal_value_cny`: a deal counts from the time of the signing that counts until
  the time of its earliest void; a deal voided at or before its signing never counts.
So the running total at the end of a slot is the figure as it stood then (with every event
recorded since, late uploads included), and the last one is the figure now.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Integer,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)

from services.api import projections
from services.api.buckets import SLOT_SECONDS, Amount
from services.api.projections import Slot
from shared.money import yuan_of
from shared.tables import EVENTS

Void = tuple[datetime, int]  # when the earliest void occurred, and its slot
EPOCH = literal(datetime(1970, 1, 1, tzinfo=UTC))


class Metric(StrEnum):
    CHECKINS = "checkins"
    ATTENDEES = "attendees"
    DEALS = "deals"
    DEAL_VALUE_CNY = "deal_value_cny"

    @property
    def zero(self) -> Amount:
        return Decimal("0.00") if self is Metric.DEAL_VALUE_CNY else 0


def _slot(conn: Connection, column: Any) -> ColumnElement[Any]:
    """The slot of a time: its start on PostgreSQL (date_bin, cheaper than arithmetic on
    numeric epochs), its number on SQLite (integer division of epoch seconds)."""
    if conn.dialect.name == "postgresql":
        return func.date_bin(text(f"'{SLOT_SECONDS} seconds'"), column, EPOCH)
    return cast(func.strftime("%s", column), Integer).op("/")(SLOT_SECONDS)


def _number(slot: Slot) -> int:
    return slot if isinstance(slot, int) else int(slot.timestamp()) // SLOT_SECONDS


def _direction(conn: Connection) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        found: ColumnElement[str] = cast(EVENTS.c.payload, JSON)["direction"].as_string()
        return found
    return func.json_extract(EVENTS.c.payload, "$.direction")


def _entry(conn: Connection) -> ColumnElement[bool]:
    """Not an exit scan. Payloads are written by the event codec, which never escapes an
    ASCII letter: one without the JSON string "exit" is not an exit, and only the few that
    have it are parsed (a JSON parse of every payload costs most of the query)."""
    payload = EVENTS.c.payload
    strpos = func.strpos if conn.dialect.name == "postgresql" else func.instr
    return or_(strpos(payload, '"exit"') == 0, func.coalesce(_direction(conn), "entry") != "exit")


def _counted(conn: Connection, query: Any, slot: Any) -> dict[int, Amount]:
    rows = conn.execute(query.add_columns(slot.label("slot"), func.count()).group_by(slot))
    return {_number(row.slot): int(row[1]) for row in rows}


def checkins(conn: Connection, session_id: str, until: datetime | None) -> dict[int, Amount]:
    """Entry scans per slot; an exit scan is not a check-in (version 1 scans are entries)."""
    when = EVENTS.c.occurred_at
    query = select().where(
        EVENTS.c.session_id == session_id,
        EVENTS.c.type == "attendee.checked_in",
        _entry(conn),
    )
    if until is not None:
        query = query.where(when <= until)
    return _counted(conn, query, _slot(conn, when))


def attendees(conn: Connection, session_id: str, until: datetime | None) -> dict[int, Amount]:
    found = projections.first_entries(conn, session_id, until, partial(_slot, conn))
    return {_number(slot): count for slot, count in found.items()}


def _voids(conn: Connection, session_id: str, until: datetime | None) -> dict[str, Void]:
    """The earliest void of each voided deal (its deal id is in the void's payload)."""
    when = EVENTS.c.occurred_at
    query = select(EVENTS.c.payload, when, _slot(conn, when)).where(
        EVENTS.c.session_id == session_id, EVENTS.c.type == "deal.voided"
    )
    if until is not None:
        query = query.where(when <= until)
    earliest: dict[str, Void] = {}
    for payload, occurred_at, slot in conn.execute(query):
        deal_id = json.loads(payload)["deal_id"]
        if deal_id not in earliest or occurred_at < earliest[deal_id][0]:
            earliest[deal_id] = (occurred_at, _number(slot))
    return earliest


def deals(
    conn: Connection, session_id: str, until: datetime | None, *, value: bool
) -> dict[int, Amount]:
    """Deals (or their value in CNY) gained at their signing, lost at their earliest void."""
    voids = _voids(conn, session_id, until)
    changes: dict[int, Amount] = {}
    for signing in projections.signings(conn, session_id, until, partial(_slot, conn)):
        void, slot = voids.get(signing.deal_id), _number(signing.slot)
        if void is not None and void[0] <= signing.signed_at:
            continue
        size: Amount = yuan_of(signing.amount_fen) if value else 1
        changes[slot] = changes.get(slot, 0) + size
        if void is not None:
            changes[void[1]] = changes.get(void[1], 0) - size
    return changes


SOURCES = {
    Metric.CHECKINS: ("attendee.checked_in",),
    Metric.ATTENDEES: ("attendee.checked_in",),
    Metric.DEALS: ("deal.signed", "deal.voided"),
    Metric.DEAL_VALUE_CNY: ("deal.signed", "deal.voided"),
}


def _late(conn: Connection, late_after: timedelta) -> ColumnElement[bool]:
    """Stored more than `late_after` after it occurred."""
    stored, occurred = EVENTS.c.stored_at, EVENTS.c.occurred_at
    if conn.dialect.name == "postgresql":
        later: ColumnElement[bool] = stored - occurred > late_after
        return later
    seconds = (func.julianday(stored) - func.julianday(occurred)) * 86_400
    return seconds > late_after.total_seconds()


def revised(
    conn: Connection, session_id: str, metric: Metric, late_after: timedelta
) -> dict[int, datetime]:
    """Per slot of `occurred_at`, when the latest late event behind `metric` was stored."""
    slot = _slot(conn, EVENTS.c.occurred_at)
    query = (
        select(slot.label("slot"), func.max(EVENTS.c.stored_at).label("stored_at"))
        .where(
            EVENTS.c.session_id == session_id,
            EVENTS.c.type.in_(SOURCES[metric]),
            _late(conn, late_after),
        )
        .group_by(slot)
    )
    return {_number(row.slot): row.stored_at for row in conn.execute(query)}


def changes(
    conn: Connection, session_id: str, metric: Metric, until: datetime | None = None
) -> dict[int, Amount]:
    """What `metric` gained per slot, for events that occurred at or before `until`."""
    if metric is Metric.CHECKINS:
        return checkins(conn, session_id, until)
    if metric is Metric.ATTENDEES:
        return attendees(conn, session_id, until)
    return deals(conn, session_id, until, value=metric is Metric.DEAL_VALUE_CNY)
