"""Entry/exit scans (inside_now), the folded stream position, rejected scans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Every scan before this revision was an entry, so each attendee's latest scan is taken to be
its first one and everyone counted is inside. Run `expo rebuild` after upgrading a database
that already holds events to recompute the latest scans from the event store.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attendee_record") as batch:
        batch.add_column(sa.Column("latest_occurred_at", shared.tables.UTCDateTime(timezone=True)))
        batch.add_column(sa.Column("latest_event_id", sa.String(length=36)))
        batch.add_column(
            sa.Column("inside", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute(
        "UPDATE attendee_record SET latest_occurred_at = first_occurred_at,"
        " latest_event_id = first_event_id"
    )
    with op.batch_alter_table("attendee_record") as batch:
        batch.alter_column("latest_occurred_at", nullable=False)
        batch.alter_column("latest_event_id", nullable=False)
        batch.alter_column("inside", server_default=None)
        batch.alter_column("first_occurred_at", nullable=True)
        batch.alter_column("first_event_id", nullable=True)
        batch.alter_column("category", nullable=True)
    with op.batch_alter_table("session_figures") as batch:
        batch.add_column(
            sa.Column("inside_now", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("position", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE session_figures SET inside_now ="
        " professional + general + exhibitor + media + vip + delegate"
    )
    op.create_table(
        "rejected_scan",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("attendee_id", sa.String(length=64), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", shared.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", shared.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_rejected_scan_session_id", "rejected_scan", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_rejected_scan_session_id", table_name="rejected_scan")
    op.drop_table("rejected_scan")
    with op.batch_alter_table("session_figures") as batch:
        batch.drop_column("position")
        batch.drop_column("inside_now")
    op.execute("DELETE FROM attendee_record WHERE first_event_id IS NULL")
    with op.batch_alter_table("attendee_record") as batch:
        batch.alter_column("category", nullable=False)
        batch.alter_column("first_event_id", nullable=False)
        batch.alter_column("first_occurred_at", nullable=False)
        batch.drop_column("inside")
        batch.drop_column("latest_event_id")
        batch.drop_column("latest_occurred_at")
