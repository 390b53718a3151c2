"""An event is its event_id within its session; sums of money exact however large; revisions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

- `event` and `rejected_scan` are keyed by (session_id, event_id): an event_id reused in
  another session is another event there, stored and counted, where before it was
  acknowledged and then dropped as a duplicate.
- `session_figures.deal_value_fen` becomes NUMERIC on PostgreSQL and decimal text on
  SQLite (`shared.tables.Fen`): a BigInteger sum overflowed past 2**63 fen.
- `session_figures` gains the revisions: `late_events`, `after_close`, `last_revised_at`.
  They start at 0 and none; `expo rebuild` computes them for events already stored.

Changing the event store's key rewrites its index (on SQLite, the whole table): upgrade a
large store while the expo is quiet.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import shared.tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> list[sa.Column[Any]]:
    """The columns of `event` and `rejected_scan` as revisions 0001-0003 left them."""
    at = shared.tables.UTCDateTime(timezone=True)
    common = [
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
    ]
    if table == "event":
        return [
            *common,
            sa.Column("type", sa.String(length=32), nullable=False),
            sa.Column("occurred_at", at, nullable=False),
            sa.Column("recorded_at", at, nullable=False),
            sa.Column("schema_version", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(length=128), nullable=False),
            sa.Column("position", sa.String(length=40), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("stored_at", at, nullable=False),
        ]
    return [
        *common,
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("attendee_id", sa.String(length=64), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", at, nullable=False),
        sa.Column("received_at", at, nullable=False),
    ]


def _rekey(table: str, key: list[str]) -> None:
    """Give `table` a new primary key. SQLite cannot change a key in place: the rows are
    copied into a table made with the new key, which then takes the old one's name."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.create_primary_key(f"{table}_pkey", table, key)
        return
    columns = _columns(table)
    names = ", ".join(c.name for c in columns)
    op.create_table(f"{table}_rekeyed", *columns, sa.PrimaryKeyConstraint(*key))
    op.execute(f"INSERT INTO {table}_rekeyed ({names}) SELECT {names} FROM {table}")  # noqa: S608
    op.drop_table(table)
    op.rename_table(f"{table}_rekeyed", table)


def upgrade() -> None:
    with op.batch_alter_table("rejected_scan") as batch:
        batch.drop_index("ix_rejected_scan_session_id")  # the key's first column now
    op.drop_index("ix_event_session_occurred", table_name="event")
    _rekey("event", ["session_id", "event_id"])
    _rekey("rejected_scan", ["session_id", "event_id"])
    op.create_index("ix_event_session_occurred", "event", ["session_id", "occurred_at", "event_id"])
    with op.batch_alter_table("session_figures") as batch:
        batch.alter_column(
            "deal_value_fen",
            type_=shared.tables.Fen(),
            existing_type=sa.BigInteger(),
            postgresql_using="deal_value_fen::numeric",
        )
        batch.add_column(
            sa.Column("late_events", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("after_close", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("last_revised_at", shared.tables.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("session_figures") as batch:
        batch.drop_column("last_revised_at")
        batch.drop_column("after_close")
        batch.drop_column("late_events")
        batch.alter_column(
            "deal_value_fen",
            type_=sa.BigInteger(),
            existing_type=shared.tables.Fen(),
            postgresql_using="deal_value_fen::bigint",
        )
    op.drop_index("ix_event_session_occurred", table_name="event")
    _rekey("rejected_scan", ["event_id"])
    _rekey("event", ["event_id"])
    op.create_index("ix_event_session_occurred", "event", ["session_id", "occurred_at", "event_id"])
    op.create_index("ix_rejected_scan_session_id", "rejected_scan", ["session_id"])
