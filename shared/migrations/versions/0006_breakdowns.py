"""Breakdowns kept by the fold: `breakdown_row`, and what the records need to move a deal or
an attendee between rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

`deal_record` gains the counted signing's `sector` and `exhibitor_id`, `attendee_record` the
`country` and `desk_id` of the earliest entry, both read from the event store (the record
names the event that counts). `breakdown_row` is then filled from the records and the event
store as the fold would have kept it, so no rebuild is needed.
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.tables import Fen

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_GIVEN = ""


def _field(name: str, table: str = "e") -> str:
    """SQL for a top-level field of an event's JSON payload, as text (NULL when absent)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"({table}.payload::json ->> '{name}')"
    return f"json_extract({table}.payload, '$.{name}')"


def upgrade() -> None:
    op.create_table(
        "breakdown_row",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("by", sa.String(24), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("deal_value_fen", Fen(), nullable=False),
        sa.Column("attendees", sa.BigInteger(), nullable=False),
        sa.Column("checkins", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("deal_record") as batch_op:
        batch_op.add_column(sa.Column("sector", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("exhibitor_id", sa.String(64), nullable=True))
    with op.batch_alter_table("attendee_record") as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(2), nullable=True))
        batch_op.add_column(sa.Column("desk_id", sa.String(64), nullable=True))
    _fill_records()
    _fill_deal_rows()
    _fill_people_rows()


def _fill_records() -> None:
    signing = (
        "FROM event e WHERE e.session_id = deal_record.session_id"
        " AND e.event_id = deal_record.signed_event_id"
    )
    op.execute(
        f"UPDATE deal_record SET sector = (SELECT {_field('sector')} {signing}),"  # noqa: S608
        f" exhibitor_id = (SELECT {_field('exhibitor_id')} {signing})"
        " WHERE signed_event_id IS NOT NULL"
    )
    country, desk = _field("country"), _field("desk_id")
    op.execute(
        f"UPDATE attendee_record SET country = (SELECT {country} FROM event e"  # noqa: S608
        " WHERE e.session_id = attendee_record.session_id"
        " AND e.event_id = attendee_record.first_event_id),"
        f" desk_id = (SELECT COALESCE({desk}, '') FROM event e"
        " WHERE e.session_id = attendee_record.session_id"
        " AND e.event_id = attendee_record.first_event_id)"
        " WHERE first_event_id IS NOT NULL"
    )


def _insert_rows(rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    columns = (sa.column(n, Fen()) if n == "deal_value_fen" else sa.column(n) for n in rows[0])
    table = sa.table("breakdown_row", *columns)
    op.get_bind().execute(sa.insert(table), rows)


def _fill_deal_rows() -> None:
    """Counted deals by sector, counterparty country, kind and exhibitor, added in Python so
    that a sum of money stays exact past 2**63 fen on SQLite."""
    found = op.get_bind().execute(
        sa.text(
            "SELECT session_id, sector, counterparty_country, kind, exhibitor_id, amount_fen"
            " FROM deal_record WHERE signed_event_id IS NOT NULL AND NOT voided"
        )
    )
    rows: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for session_id, sector, country, kind, exhibitor_id, fen in found:
        keys = {
            "sector": sector,
            "counterparty_country": country,
            "kind": kind,
            "exhibitor": exhibitor_id,
        }
        for by, key in keys.items():
            row = rows[session_id, by, key or NOT_GIVEN]
            row[0] += 1
            row[1] += int(fen)
    _insert_rows(
        [
            {"session_id": s, "by": by, "key": key, "deals": n, "deal_value_fen": fen}
            | {"attendees": 0, "checkins": 0}
            for (s, by, key), (n, fen) in rows.items()
        ]
    )


def _fill_people_rows() -> None:
    """Attendees under the country and desk of their earliest entry (now in the record),
    check-ins under each entry scan's own (an exit is no check-in; version 1 knew only
    entries)."""
    bind = op.get_bind()
    rows: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for by, column in (("country", "country"), ("desk", "desk_id")):
        attendees = bind.execute(
            sa.text(
                f"SELECT session_id, {column}, count(*) FROM attendee_record"  # noqa: S608
                f" WHERE first_event_id IS NOT NULL GROUP BY session_id, {column}"
            )
        )
        for session_id, key, n in attendees:
            rows[session_id, by, key or NOT_GIVEN][0] += n
        key_sql = _field(column)
        direction = _field("direction")
        checkins = bind.execute(
            sa.text(
                f"SELECT e.session_id, {key_sql}, count(*) FROM event e"  # noqa: S608
                " WHERE e.type = 'attendee.checked_in'"
                f" AND COALESCE({direction}, 'entry') = 'entry'"
                f" GROUP BY e.session_id, {key_sql}"
            )
        )
        for session_id, key, n in checkins:
            rows[session_id, by, key or NOT_GIVEN][1] += n
    _insert_rows(
        [
            {"session_id": s, "by": by, "key": key, "attendees": a, "checkins": c}
            | {"deals": 0, "deal_value_fen": 0}
            for (s, by, key), (a, c) in rows.items()
        ]
    )


def downgrade() -> None:
    with op.batch_alter_table("attendee_record") as batch_op:
        batch_op.drop_column("desk_id")
        batch_op.drop_column("country")
    with op.batch_alter_table("deal_record") as batch_op:
        batch_op.drop_column("exhibitor_id")
        batch_op.drop_column("sector")
    op.drop_table("breakdown_row")
