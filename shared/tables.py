"""SQL tables: reference data, the event store (the record of truth) and the projections.

Money is stored as whole fen: SQLite has no exact decimal type, and integers are exact on
every database. An amount fits a BigInteger; a running sum is a `Fen` column, exact however
large it grows. Times are stored in UTC.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.types import TypeEngine
from sqlmodel import AutoString, Field, SQLModel

from shared import vocabulary
from shared.fold_state import Totals
from shared.vocabulary import Kind


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetimes are not stored; give a timezone"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            msg = f"expected a datetime, got {type(value).__name__}"
            raise TypeError(msg)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Fen(TypeDecorator[int]):
    """A whole number of fen, exact however large it grows: NUMERIC on PostgreSQL, decimal
    text on SQLite, whose integers stop at 2**63 (92 trillion yuan, a sum that many deals of
    the largest amount an event may carry reach)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"fen are whole numbers, got {value!r}"
            raise TypeError(msg)
        return Decimal(value) if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- reference data --------------------------------------------------------------------


class Expo(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExpoSession(SQLModel, table=True):
    __tablename__ = "expo_session"
    __table_args__ = (UniqueConstraint("expo_id", "ordinal"),)

    id: str = Field(primary_key=True, max_length=64)
    expo_id: str = Field(foreign_key="expo.id", index=True, max_length=64)
    ordinal: int
    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    status: str = Field(default="planned", max_length=16)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Baseline(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    expo_id: str = Field(foreign_key="expo.id", index=True, max_length=64)
    label: str = Field(max_length=200)
    first_ordinal: int
    last_ordinal: int
    figures: str = Field(sa_type=Text)  # JSON of the figures as given
    countries_list: str | None = Field(default=None, sa_type=Text)  # JSON list, when known
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=16)
    session_id: str | None = Field(default=None, foreign_key="expo_session.id", max_length=64)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- the event store ---------------------------------------------------------------------


class StoredEvent(SQLModel, table=True):
    """Every accepted event, once: an event is its event_id within its session (the same id
    in another session is another event there). Indexed in the order of a session's event
    log (occurred_at, then event_id)."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_session_occurred", "session_id", "occurred_at", "event_id"),)

    session_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    schema_version: int
    source: str = Field(max_length=128)
    position: str = Field(max_length=40)  # the Redis stream entry id it came from
    payload: str = Field(sa_type=Text)  # the event as JSON, exactly as accepted
    stored_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RejectedScan(SQLModel, table=True):
    """A scan ingest refused for a reason other than malformed input, kept for statistics."""

    __tablename__ = "rejected_scan"

    session_id: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    reason: str = Field(max_length=32)
    attendee_id: str = Field(max_length=64)
    desk_id: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=128)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)


# --- projections (rebuildable from the event store) --------------------------------------


def _counter_type(name: str) -> TypeEngine[Any] | type[TypeEngine[Any]]:
    if name in MONEY_COUNTERS:
        return Fen
    if name in SET_COUNTERS:
        return Integer
    return BigInteger


MONEY_COUNTERS = {c for f in vocabulary.of_kind(Kind.MONEY) for c in f.counters}
SET_COUNTERS = {c for f in vocabulary.of_kind(Kind.SET_SIZE) for c in f.counters}

# The running totals of one session, changed only by adding fold deltas: a column for each
# counter the vocabulary declares (a figure added there takes a migration adding its column).
SESSION_FIGURES = Table(
    "session_figures",
    SQLModel.metadata,
    Column("session_id", AutoString(64), primary_key=True),
    *(Column(name, _counter_type(name), nullable=False, default=0) for name in vocabulary.COUNTERS),
    Column("events", BigInteger, nullable=False, default=0),
    Column("last_revised_at", UTCDateTime),
    Column("as_of", UTCDateTime),
    Column("position", AutoString(40)),  # the newest stream entry folded
)


# The breakdowns (shared.vocabulary.BREAKDOWNS): a row per session, breakdown and key, with
# every keyed counter (a deals row leaves the people counters at 0, and the other way round).
BREAKDOWN_ROWS = Table(
    "breakdown_row",
    SQLModel.metadata,
    Column("session_id", AutoString(64), primary_key=True),
    Column("by", AutoString(24), primary_key=True),
    Column("key", AutoString(200), primary_key=True),
    *(
        Column(name, _counter_type(name), nullable=False, default=0)
        for name in vocabulary.KEYED_COUNTERS
    ),
)


class AttendeeRecord(SQLModel, table=True):
    __tablename__ = "attendee_record"

    session_id: str = Field(primary_key=True, max_length=64)
    attendee_id: str = Field(primary_key=True, max_length=64)
    first_occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_event_id: str | None = Field(default=None, max_length=36)
    category: str | None = Field(default=None, max_length=16)
    latest_occurred_at: datetime = Field(sa_type=UTCDateTime)
    latest_event_id: str = Field(max_length=36)
    inside: bool = False
    country: str | None = Field(default=None, max_length=2)  # of the earliest entry
    desk_id: str | None = Field(default=None, max_length=64)  # of the earliest entry, "" none


class DealRecord(SQLModel, table=True):
    __tablename__ = "deal_record"

    session_id: str = Field(primary_key=True, max_length=64)
    deal_id: str = Field(primary_key=True, max_length=64)
    signed_occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    signed_event_id: str | None = Field(default=None, max_length=36)
    kind: str | None = Field(default=None, max_length=16)
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)
    counterparty_country: str | None = Field(default=None, max_length=2)
    content: str | None = Field(default=None, sa_type=Text)
    voided: bool = False
    sector: str | None = Field(default=None, max_length=200)
    exhibitor_id: str | None = Field(default=None, max_length=64)


class ExhibitorRecord(SQLModel, table=True):
    __tablename__ = "exhibitor_record"

    session_id: str = Field(primary_key=True, max_length=64)
    exhibitor_id: str = Field(primary_key=True, max_length=64)
    first_occurred_at: datetime = Field(sa_type=UTCDateTime)
    first_event_id: str = Field(max_length=36)
    projects_on_display: int
    country: str = Field(max_length=2)


class CountryRef(SQLModel, table=True):
    """How many counted things of a session name a country; the country counts while > 0."""

    __tablename__ = "country_ref"

    session_id: str = Field(primary_key=True, max_length=64)
    country: str = Field(primary_key=True, max_length=2)
    refs: int = 0


def table_of(model: type[SQLModel]) -> Table:
    """The Core table a model declares (SQLModel leaves `__table__` untyped)."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(model)
    return table


# The tables as Core objects, typed: what queries are written against.
EXPOS = table_of(Expo)
SESSIONS = table_of(ExpoSession)
BASELINES = table_of(Baseline)
EVENTS = table_of(StoredEvent)
REJECTED_SCANS = table_of(RejectedScan)
ATTENDEES = table_of(AttendeeRecord)
DEALS = table_of(DealRecord)
EXHIBITORS = table_of(ExhibitorRecord)
COUNTRIES = table_of(CountryRef)
PROJECTION_TABLES = (SESSION_FIGURES, BREAKDOWN_ROWS, ATTENDEES, DEALS, EXHIBITORS, COUNTRIES)


def totals_of(row: Any) -> Totals:
    """The fold's totals from a `session_figures` row."""
    counts = {name: getattr(row, name) for name in vocabulary.COUNTERS}
    return Totals(counts, row.as_of, row.last_revised_at)
