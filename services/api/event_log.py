"""A session's event log as rows for people: the envelope of each stored event, the fields of
its payload by name, and the payload itself exactly as it was accepted.

Order: `occurred_at`, then `event_id`, the order that decides which event is "first" in
the fold (docs/design.md §4); the same rows always come in the same order. Stream positions are
not used: entries a dead consumer left pending are folded after later ones.

The rows are read a page at a time by keyset (the index on session_id, occurred_at,
event_id: each page starts where the last one ended, at the same cost however deep), each
page in its own short read-only transaction. Nothing is held between pages, so a slow
download holds no connection, no snapshot and no lock: on SQLite the aggregator's folds
never wait for an export, and the log file is never kept from being checkpointed. An
export of a session that is still taking events has every event stored before it began;
an event stored while it runs is in it when it sorts after the page then being read.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json
from sqlalchemy import Engine, Row, String, bindparam, func, select, tuple_

from services.api.spreadsheet import Cell
from shared.events import upcast
from shared.tables import EVENTS, UTCDateTime

ENVELOPE = (
    "event_id",
    "type",
    "occurred_at",
    "recorded_at",
    "schema_version",
    "source",
    "position",
)
# The payload's fields, by the name they have in the events (shared/events.py).
FIELDS = (
    "attendee_id",
    "category",
    "country",
    "desk_id",
    "direction",
    "deal_id",
    "title",
    "kind",
    "amount",
    "currency",
    "fx_rate_to_cny",
    "amount_cny",
    "sector",
    "counterparty",
    "counterparty_country",
    "reason",
    "exhibitor_id",
    "name",
    "projects_on_display",
    "booth_area_m2",
)
HEADER = (*ENVELOPE, *FIELDS, "payload")
# PostgreSQL plans each page afresh (shared/db.py). Where its statistics lag behind a bulk
# of new events it may fetch the rest of the session through a bitmap and sort it, for
# every page: quadratic (a million events took 239 s; 56 s with this). The scan of the
# index in its own order, stopping at the page's end, is right for every page; these make
# it the plan, for that page's transaction only.
ORDERED_SCAN = ("SET LOCAL enable_sort = off", "SET LOCAL enable_bitmapscan = off")
Key = tuple[datetime, str]


def rfc3339(value: datetime) -> str:
    """UTC with microseconds, e.g. 2025-09-26T01:02:03.000000Z: sorts as text."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def count(engine: Engine, session_id: str) -> int:
    query = select(func.count()).select_from(EVENTS).where(EVENTS.c.session_id == session_id)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def pages(engine: Engine, session_id: str, page_rows: int) -> Iterator[list[list[Cell]]]:
    """The session's events as rows, `page_rows` at a time, each page read on its own."""
    after: Key | None = None
    while True:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                for setting in ORDERED_SCAN:
                    conn.exec_driver_sql(setting)
            found = conn.execute(_page(session_id, after, page_rows)).all()
        if found:
            yield [cells(row) for row in found]
        if len(found) < page_rows:
            return
        after = (found[-1].occurred_at, found[-1].event_id)


def _page(session_id: str, after: Key | None, limit: int) -> Any:
    columns = [EVENTS.c[name] for name in (*ENVELOPE, "payload")]
    query = select(*columns).where(EVENTS.c.session_id == session_id)
    if after is not None:
        last = tuple_(
            bindparam("after_at", after[0], type_=UTCDateTime()),
            bindparam("after_id", after[1], type_=String()),
        )
        query = query.where(tuple_(EVENTS.c.occurred_at, EVENTS.c.event_id) > last)
    return query.order_by(EVENTS.c.occurred_at, EVENTS.c.event_id).limit(limit)


def cells(row: Row[Any]) -> list[Cell]:
    """One stored event as a row. The fields come from the payload brought up to the
    current schema (a version-1 check-in shows direction `entry`); `payload` is as stored."""
    try:
        raw = from_json(row.payload)  # twice as fast as json.loads, the same values
    except ValueError:
        raw = None
    fields = upcast(raw) if isinstance(raw, dict) else {}
    return [
        row.event_id,
        row.type,
        rfc3339(row.occurred_at),
        rfc3339(row.recorded_at),
        row.schema_version,
        row.source,
        row.position,
        *[v if v.__class__ in PLAIN else _cell(v) for v in map(fields.get, FIELDS)],
        row.payload,
    ]


def _cell(value: object) -> Cell:
    """Text and whole numbers as they are (decimals are text in the payload: exact)."""
    if value is None or isinstance(value, str | int):
        return value
    return json.dumps(value, ensure_ascii=False)


PLAIN = frozenset({str, int, type(None)})
