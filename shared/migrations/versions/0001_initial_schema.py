"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 19:41:41.900617
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

import shared.tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """An instant, stored timezone-aware."""
    return sa.Column(name, shared.tables.UTCDateTime(timezone=True), nullable=nullable)


def _strings(*, nullable: bool = False, **lengths: int) -> list[SchemaItem]:
    """A string column of each length, in order."""
    return [sa.Column(name, sa.String(length=n), nullable=nullable) for name, n in lengths.items()]


def _in_session(key: str) -> list[SchemaItem]:
    """A record's key within its session: the session's id and the record's own."""
    return [
        *_strings(session_id=64),
        sa.Column(key, sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("session_id", key),
    ]


def _first_seen() -> list[SchemaItem]:
    """The event that first counted a record, and when it happened."""
    return [_at("first_occurred_at"), *_strings(first_event_id=36)]


def _of_expo() -> list[SchemaItem]:
    """The expo a row belongs to."""
    return [*_strings(expo_id=64), sa.ForeignKeyConstraint(["expo_id"], ["expo.id"])]


def _required(type_: type[TypeEngine[Any]], *names: str) -> list[SchemaItem]:
    """A column of the type for each name, none of them nullable."""
    return [sa.Column(name, type_(), nullable=False) for name in names]


def _create_index(table: str, column: str) -> None:
    """An index on one column, named as the models name it."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _drop_index(table: str, column: str) -> None:
    """Drop the index `_create_index` made."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "attendee_record",
        *_in_session("attendee_id"),
        *_first_seen(),
        *_strings(category=16),
    )
    op.create_table(
        "country_ref",
        *_strings(session_id=64, country=2),
        *_required(sa.Integer, "refs"),
        sa.PrimaryKeyConstraint("session_id", "country"),
    )
    op.create_table(
        "deal_record",
        *_in_session("deal_id"),
        _at("signed_occurred_at", nullable=True),
        *_strings(signed_event_id=36, kind=16, nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        *_strings(counterparty_country=2, nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        *_required(sa.Boolean, "voided"),
    )
    op.create_table(
        "event",
        *_strings(event_id=36, session_id=64, type=32),
        _at("occurred_at"),
        _at("recorded_at"),
        *_required(sa.Integer, "schema_version"),
        *_strings(source=128, position=40),
        *_required(sa.Text, "payload"),
        _at("stored_at"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    _create_index("event", "session_id")
    op.create_table(
        "exhibitor_record",
        *_in_session("exhibitor_id"),
        *_first_seen(),
        *_required(sa.Integer, "projects_on_display"),
        *_strings(country=2),
    )
    op.create_table(
        "expo",
        *_strings(id=64, name=200, timezone=64),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "session_figures",
        *_strings(session_id=64),
        *_required(sa.BigInteger, "checkins", "professional", "general", "exhibitor"),
        *_required(sa.BigInteger, "media", "vip", "delegate"),
        *_required(sa.BigInteger, "contract", "agreement", "intent", "deal_value_fen"),
        *_required(sa.BigInteger, "exhibitors", "projects_on_display"),
        *_required(sa.Integer, "countries"),
        *_required(sa.BigInteger, "events"),
        _at("as_of", nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_table(
        "baseline",
        *_required(sa.Integer, "id"),
        *_of_expo(),
        *_strings(label=200),
        *_required(sa.Integer, "first_ordinal", "last_ordinal"),
        *_required(sa.Text, "figures"),
        sa.Column("countries_list", sa.Text(), nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    _create_index("baseline", "expo_id")
    op.create_table(
        "expo_session",
        *_strings(id=64),
        *_of_expo(),
        *_required(sa.Integer, "ordinal"),
        *_strings(name=200),
        *_required(sa.Date, "starts_on", "ends_on"),
        *_strings(status=16),
        _at("opened_at", nullable=True),
        _at("closed_at", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("expo_id", "ordinal"),
    )
    _create_index("expo_session", "expo_id")
    op.create_table(
        "api_token",
        *_strings(id=32, token_hash=64, role=16),
        *_strings(session_id=64, label=200, nullable=True),
        _at("created_at"),
        _at("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["expo_session.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_token")
    _drop_index("expo_session", "expo_id")
    op.drop_table("expo_session")
    _drop_index("baseline", "expo_id")
    op.drop_table("baseline")
    op.drop_table("session_figures")
    op.drop_table("expo")
    op.drop_table("exhibitor_record")
    _drop_index("event", "session_id")
    op.drop_table("event")
    op.drop_table("deal_record")
    op.drop_table("country_ref")
    op.drop_table("attendee_record")
