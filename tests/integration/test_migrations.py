"""Schema migrations, up and down, on an empty database and on one that holds data from the
previous revision, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Date, Engine, TextClause, bindparam, inspect, text
from sqlmodel import SQLModel

from services.aggregator.batch import fold_batch
from services.aggregator.check import check
from shared import migration, vocabulary
from shared.db import make_engine
from shared.tables import SESSION_FIGURES, UTCDateTime
from tests.conftest import postgres_database, sqlite_database
from tests.integration.test_fold_contract import NEVER_LATE, TANGLED, entries, new_session

EXPECTED_TABLES = {
    "alembic_version",
    "api_token",
    "attendee_record",
    "baseline",
    "breakdown_row",
    "country_ref",
    "deal_record",
    "event",
    "exhibitor_record",
    "expo",
    "expo_session",
    "rejected_scan",
    "session_figures",
}
SCANNED = datetime(2025, 9, 26, 1, 2, 3, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database with nothing in it, for this test alone."""
    if request.param == "postgres":
        request.node.add_marker(pytest.mark.postgres)
    urls = postgres_database() if request.param == "postgres" else sqlite_database(tmp_path)
    for url in urls:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _typed(sql: str) -> TextClause:
    """The statement with its times and dates bound as the tables store them."""
    statement = text(sql)
    if ":at" in sql:
        statement = statement.bindparams(bindparam("at", type_=UTCDateTime()))
    if ":d" in sql:
        statement = statement.bindparams(bindparam("d", type_=Date()))
    return statement


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_an_empty_database_goes_up_to_head_down_to_nothing_and_up_again(empty: Engine) -> None:
    migration.upgrade(empty)
    assert _tables(empty) == EXPECTED_TABLES
    assert _revision(empty) == "0006"
    migration.downgrade(empty, "base")
    assert _tables(empty) <= {"alembic_version"}
    migration.upgrade(empty)
    assert _tables(empty) == EXPECTED_TABLES


def test_the_migrations_make_the_tables_the_code_declares(empty: Engine) -> None:
    """Every column the code declares (a counter of each figure of the vocabulary among
    them) is made by a migration, with its type: a figure added without one fails here."""
    migration.upgrade(empty)
    with empty.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert set(vocabulary.COUNTERS) <= set(SESSION_FIGURES.c.keys())


def test_data_of_the_previous_revision_survives_the_upgrade_and_the_downgrade(
    empty: Engine,
) -> None:
    migration.upgrade(empty, "0001")
    with empty.begin() as conn:
        conn.execute(
            text("INSERT INTO expo (id, name, timezone, created_at) VALUES (:id, :n, :tz, :at)"),
            {
                "id": "mianyang",
                "n": "Mianyang High-Tech Expo",
                "tz": "Asia/Shanghai",
                "at": SCANNED,
            },
        )
        conn.execute(
            _typed(
                "INSERT INTO expo_session (id, expo_id, ordinal, name, starts_on, ends_on,"
                " status, created_at) VALUES ('s1', 'mianyang', 1, 'The first', :d, :d,"
                " 'open', :at)"
            ),
            {"d": date(2025, 9, 26), "at": SCANNED},
        )
        conn.execute(
            text(
                "INSERT INTO session_figures (session_id, checkins, professional, general,"
                " exhibitor, media, vip, delegate, contract, agreement, intent, deal_value_fen,"
                " exhibitors, projects_on_display, countries, events)"
                " VALUES ('s1', 3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3)"
            )
        )
        for attendee, category in (("A1", "professional"), ("A2", "general")):
            conn.execute(
                _typed(
                    "INSERT INTO attendee_record (session_id, attendee_id, first_occurred_at,"
                    " first_event_id, category) VALUES ('s1', :a, :at, :e, :c)"
                ),
                {"a": attendee, "at": SCANNED, "e": f"event-{attendee}", "c": category},
            )

    migration.upgrade(empty)
    with empty.connect() as conn:
        figures = conn.execute(
            text("SELECT checkins, inside_now, position FROM session_figures")
        ).one()
        attendees = conn.execute(
            text(
                "SELECT attendee_id, category, latest_event_id, inside FROM attendee_record"
                " ORDER BY attendee_id"
            )
        ).all()
    assert tuple(figures) == (3, 2, None)  # everyone counted before exits existed is inside
    assert [tuple(a) for a in attendees] == [
        ("A1", "professional", "event-A1", True),
        ("A2", "general", "event-A2", True),
    ]

    migration.downgrade(empty, "0001")
    assert "rejected_scan" not in _tables(empty)
    with empty.connect() as conn:
        kept = conn.execute(
            text("SELECT attendee_id, category FROM attendee_record ORDER BY attendee_id")
        ).all()
        checkins = conn.execute(text("SELECT checkins FROM session_figures")).scalar()
    assert [tuple(a) for a in kept] == [("A1", "professional"), ("A2", "general")]
    assert checkins == 3
    assert _revision(empty) == "0001"


def _event_indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {i["name"] or "": i["column_names"] for i in inspect(engine).get_indexes("event")}


def test_the_event_store_is_indexed_in_event_log_order_from_revision_3(empty: Engine) -> None:
    migration.upgrade(empty)
    assert _event_indexes(empty) == {
        "ix_event_session_occurred": ["session_id", "occurred_at", "event_id"]
    }
    migration.downgrade(empty, "0002")
    assert _event_indexes(empty) == {"ix_event_session_id": ["session_id"]}
    assert _revision(empty) == "0002"


def test_revision_4_keys_events_by_session_and_keeps_what_was_stored(empty: Engine) -> None:
    migration.upgrade(empty, "0003")
    event = (
        "INSERT INTO event (event_id, session_id, type, occurred_at, recorded_at,"
        " schema_version, source, position, payload, stored_at)"
        " VALUES ('e-1', :s, 'deal.signed', :at, :at, 1, 'desk', '1-0', '{}', :at)"
    )
    with empty.begin() as conn:
        conn.execute(_typed(event), {"s": "s1", "at": SCANNED})
        conn.execute(
            text(
                "INSERT INTO session_figures (session_id, checkins, professional, general,"
                " exhibitor, media, vip, delegate, contract, agreement, intent, deal_value_fen,"
                " exhibitors, projects_on_display, countries, events, inside_now)"
                " VALUES ('s1', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 929130000000, 0, 0, 0, 1, 0)"
            )
        )

    migration.upgrade(empty)
    assert inspect(empty).get_pk_constraint("event")["constrained_columns"] == [
        "session_id",
        "event_id",
    ]
    with empty.begin() as conn:
        conn.execute(_typed(event), {"s": "s2", "at": SCANNED})  # the same id, another session
        stored = conn.execute(text("SELECT session_id FROM event ORDER BY session_id")).all()
        fen = conn.execute(text("SELECT deal_value_fen FROM session_figures")).scalar()
        revisions = conn.execute(
            text("SELECT late_events, after_close, last_revised_at FROM session_figures")
        ).one()
    assert [row[0] for row in stored] == ["s1", "s2"]
    assert str(fen) == "929130000000"
    assert tuple(revisions) == (0, 0, None)
    assert _event_indexes(empty) == {
        "ix_event_session_occurred": ["session_id", "occurred_at", "event_id"]
    }


def test_revision_5_counts_the_major_deals_already_folded(empty: Engine) -> None:
    migration.upgrade(empty, "0004")
    deal = (
        "INSERT INTO deal_record (session_id, deal_id, signed_occurred_at, signed_event_id,"
        " kind, amount_fen, counterparty_country, content, voided)"
        " VALUES ('s1', :key, :at, :signed, 'contract', :fen, NULL, '', :voided)"
    )
    # A major deal is one of ¥100,000,000.00 or more, signed and not voided.
    deals: list[dict[str, Any]] = [
        {"key": "d1", "signed": "e-1", "fen": 100_000_000_00, "voided": False},
        {"key": "d2", "signed": "e-2", "fen": 99_999_999_99, "voided": False},
        {"key": "d3", "signed": "e-3", "fen": 500_000_000_00, "voided": True},
        {"key": "d4", "signed": None, "fen": None, "voided": True},  # a void alone
        {"key": "d5", "signed": "e-5", "fen": 13_550_000_000_00, "voided": False},
    ]
    with empty.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO session_figures (session_id, checkins, professional,"
                " general, exhibitor, media, vip, delegate, contract, agreement, intent,"
                " deal_value_fen, exhibitors, projects_on_display, countries, events,"
                " inside_now, late_events, after_close)"
                " VALUES ('s1', 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, '0', 0, 0, 0, 5, 0, 0, 0)"
            )
        )
        for row in deals:
            conn.execute(_typed(deal), {**row, "at": SCANNED})

    migration.upgrade(empty)
    with empty.connect() as conn:
        assert conn.execute(text("SELECT major_deals FROM session_figures")).scalar() == 2
    migration.downgrade(empty, "0004")
    assert "major_deals" not in {c["name"] for c in inspect(empty).get_columns("session_figures")}


def _breakdown_data(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The breakdown rows that count something, and what the records keep for them."""
    queries = {
        "rows": "SELECT session_id, by, key, deals, deal_value_fen, attendees, checkins"
        " FROM breakdown_row WHERE deals <> 0 OR attendees <> 0 OR checkins <> 0",
        "attendees": "SELECT session_id, attendee_id, country, desk_id FROM attendee_record",
        "deals": "SELECT session_id, deal_id, sector, exhibitor_id FROM deal_record",
    }
    with engine.connect() as conn:
        return {
            name: sorted(
                (
                    tuple(str(v) if k == "deal_value_fen" else v for k, v in row._mapping.items())
                    for row in conn.execute(text(sql))
                ),
                key=str,
            )
            for name, sql in queries.items()
        }


def test_revision_6_fills_the_breakdowns_of_what_was_folded_as_the_fold_keeps_them(
    empty: Engine,
) -> None:
    """Events folded by the aggregator; then the breakdowns dropped (down to revision 5) and
    made again by the migration from the records and the event store: the same rows."""
    migration.upgrade(empty)
    session_id = new_session(empty)
    fold_batch(empty, session_id, entries(session_id, TANGLED), NEVER_LATE)
    folded = _breakdown_data(empty)
    assert {row[1] for row in folded["rows"]} == set(vocabulary.BREAKDOWN_BY)

    migration.downgrade(empty, "0005")
    assert "breakdown_row" not in _tables(empty)
    migration.upgrade(empty)

    assert _breakdown_data(empty) == folded
    assert check(empty, [session_id], NEVER_LATE) == []
