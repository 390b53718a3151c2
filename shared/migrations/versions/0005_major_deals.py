"""The figure `major_deals`: deals of ¥100 million or more, signed and not voided.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

`session_figures` gains its counter, computed for the deals already folded from
`deal_record` (which holds each deal's counted signing), so no rebuild is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAJOR_DEAL_FEN = 100_000_000_00


def upgrade() -> None:
    with op.batch_alter_table("session_figures") as batch_op:
        batch_op.add_column(
            sa.Column("major_deals", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("session_figures") as batch_op:
        batch_op.alter_column("major_deals", server_default=None)
    op.execute(
        sa.text(
            "UPDATE session_figures SET major_deals = ("
            " SELECT count(*) FROM deal_record d"
            " WHERE d.session_id = session_figures.session_id"
            " AND d.signed_event_id IS NOT NULL AND NOT d.voided"
            " AND d.amount_fen >= :major)"
        ).bindparams(major=MAJOR_DEAL_FEN)
    )


def downgrade() -> None:
    with op.batch_alter_table("session_figures") as batch_op:
        batch_op.drop_column("major_deals")
