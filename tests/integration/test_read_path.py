"""Reads never queue behind a fold: while a writer holds its transaction open, totals,
history and the display still answer at once. Writers keep taking SQLite's write lock at
BEGIN, which their read-then-write transactions rely on."""

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text, update

from services.aggregator.check import check
from shared.db import make_engine, read_only
from shared.tables import SESSION_FIGURES
from tests.integration.conftest import Stack
from tests.integration.test_figures_api import checkin

# Far below the 30 s a read would wait for SQLite's write lock if it queued behind it.
PROMPT_SECONDS = 5.0


def test_reads_answer_while_a_fold_holds_its_write_transaction_open(stack: Stack) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    checkin(stack, session, "A1", "CN")
    stack.fold()
    paths = [
        f"/v1/sessions/{session}/totals",
        f"/v1/display/{expo}",
        f"/v1/expos/{expo}/history",
        f"/v1/sessions/{session}",
    ]
    with stack.engine.begin() as fold:  # as the aggregator's fold does, uncommitted
        fold.execute(
            update(SESSION_FIGURES)
            .where(SESSION_FIGURES.c.session_id == session)
            .values(checkins=SESSION_FIGURES.c.checkins + 1000)
        )
        for path in paths:
            started = time.monotonic()
            answer = stack.api.get(path)
            assert answer.status_code == 200, answer.text
            assert time.monotonic() - started < PROMPT_SECONDS, path
        assert stack.totals(session)["current"]["checkins"] == 1  # the fold is not seen yet
    assert stack.totals(session)["current"]["checkins"] == 1001


def _write_lock_free(path: Path) -> bool:
    """Whether another connection could take SQLite's write lock right now."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")  # rolled back by close()
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return False
        raise
    finally:
        probe.close()
    return True


def test_sqlite_writers_take_the_write_lock_at_begin_and_reads_never_do(tmp_path: Path) -> None:
    path = tmp_path / "expo.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with read_only(engine).connect() as reading:
            reading.execute(text("SELECT 1"))
            assert _write_lock_free(path)
        with engine.begin():
            assert not _write_lock_free(path)
        with engine.connect() as unflagged:  # not marked read-only: it may go on to write
            unflagged.execute(text("SELECT 1"))
            assert not _write_lock_free(path)
        assert _write_lock_free(path)
    finally:
        engine.dispose()


def test_ingest_checks_and_the_rebuild_check_go_on_while_a_fold_holds_its_transaction(
    stack: Stack,
) -> None:
    expo = stack.new_expo()
    session = stack.new_session(expo, 1)
    checkin(stack, session, "A1", "CN")
    stack.fold()
    desk = stack.token("desk", session)  # a token and a session ingest has not seen yet
    body = {"session_id": session, "attendee_id": "A2", "category": "media", "country": "DE"}
    with stack.engine.begin() as fold:  # as the aggregator's fold does, uncommitted
        fold.execute(
            update(SESSION_FIGURES)
            .where(SESSION_FIGURES.c.session_id == session)
            .values(checkins=SESSION_FIGURES.c.checkins + 1000)
        )
        started = time.monotonic()
        assert stack.ingest.post("/v1/checkins", json=body, headers=desk).status_code == 202
        assert stack.ingest.get("/readyz").status_code == 200
        assert check(stack.engine, [session]) == []  # the snapshot before the open fold
        assert time.monotonic() - started < PROMPT_SECONDS
