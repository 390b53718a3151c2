"""The event store indexed in the order of a session's event log: (session_id, occurred_at,
event_id). It replaces the index on session_id alone, which it serves as well (its first
column), so a fold still maintains one index of `event` besides the key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Exports read a session's events a page at a time in this order; with the index each page
is a range of it, however deep into the session. Building it reads the whole table and,
on PostgreSQL, holds off inserts into `event` until done: folds wait (ingest goes on
accepting events into the streams), so upgrade a large store when the expo is quiet.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_session_occurred", "event", ["session_id", "occurred_at", "event_id"])
    op.drop_index("ix_event_session_id", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_session_id", "event", ["session_id"])
    op.drop_index("ix_event_session_occurred", table_name="event")
